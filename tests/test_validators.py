"""The generated validator modules match the schemas declared in the code."""

from __future__ import annotations

import pytest

from grafana_scf.validators import generate


@pytest.mark.parametrize("name", sorted(generate.schemas()))
def test_generated_validator_is_up_to_date(name):
    origin, schema = generate.schemas()[name]
    path = generate.HERE / f"{name}.py"
    assert path.exists(), f"run: python -m grafana_scf.validators.generate ({name} missing)"
    assert path.read_text() == generate.render(origin, schema), (
        f"{path.name} is stale: run python -m grafana_scf.validators.generate"
    )

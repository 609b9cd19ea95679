"""The generated validator modules match the schemas declared in the code."""

from __future__ import annotations

import pytest

from labelhub_tools import validators as generate


@pytest.mark.parametrize("name", sorted(generate.schemas()))
def test_generated_validator_is_up_to_date(name):
    origin, schema = generate.schemas()[name]
    path = generate.TARGET / f"{name}.py"
    assert path.exists(), f"run: python -m labelhub_tools.validators ({name} missing)"
    assert path.read_text() == generate.render(origin, schema), (
        f"{path.name} is stale: run python -m labelhub_tools.validators"
    )

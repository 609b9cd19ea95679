"""SCF entry point of the Cloud Monitor function (handler: index.main_handler)."""

from grafana_scf import create_app

app = create_app(__file__)


def main_handler(event, context):
    return app.handle(event, context)

# The local stand-in for the two SCF functions (docker-compose service "datasource"),
# also used by the "demo-sql" and "cloud-api" services. Python 3.10 = the functions'
# SCF runtime (runtime: Python3.10 in datasource/*/serverless.yml).
FROM python:3.10.19-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app/layer:/app/tools

WORKDIR /app

# Runtime dependencies of the layer, plus cryptography (PyMySQL's "rsa" extra): MySQL 8.4
# authenticates with caching_sha2_password, whose first login over plain TCP needs it.
COPY layer/requirements.txt layer/requirements.txt
RUN pip install -r layer/requirements.txt \
        cryptography==50.0.2 cffi==2.1.1 pycparser==3.11

# What the local runner serves (the project file, the layer and the functions) and the dev
# tools that serve it, seed the demo data and emulate Tencent Cloud.
COPY serverless.yml ./
COPY layer/serverless.yml layer/serverless.yml
COPY layer/grafana_scf layer/grafana_scf
COPY tools/labelhub_tools tools/labelhub_tools
COPY datasource datasource

# An unprivileged user; /initdb is where "demo-sql" writes the MySQL init script
# (a named volume mounted there inherits this ownership).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir /initdb && chown app /initdb
USER app

EXPOSE 9000 9100
CMD ["python", "-m", "labelhub_tools", "serve", "--host", "0.0.0.0", "--port", "9000"]

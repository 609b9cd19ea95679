"""Deploy to Tencent SCF: the serverless.yml files against their schemas and the code, the layer build."""

# docpipe worker image: one image for every role and target.
#   ec2 / cloudrun / local:  docpipe worker <role>            (long-running, drains on SIGTERM)
#   lambda:                  workers.lambda_handler.handler   (image command override)
#   starter (S3 uploads):    workers.starter.handler          (image command override)
# infra/ builds it with pulumi-docker for each CPU architecture a stack needs (linux/arm64 for
# Graviton EC2 and arm64 Lambdas, linux/amd64 for Cloud Run and x86 targets).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY docpipe ./docpipe
COPY workers ./workers
COPY infra ./infra
COPY policies ./policies
# Base dependencies only (no Pulumi / cloud-provisioning extras), plus the Lambda runtime
# interface client, which a non-AWS base image needs to serve Lambda invocations (the same pin as
# pyproject's dev group, so tests/workers/test_lambda_runtime.py runs the client the image runs).
RUN python -m venv /opt/docpipe \
 && /opt/docpipe/bin/pip install . "awslambdaric>=4.2,<5"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 docpipe
COPY --from=build /opt/docpipe /opt/docpipe
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/opt/docpipe/bin:$PATH PYTHONUNBUFFERED=1
USER docpipe
WORKDIR /home/docpipe
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["docpipe", "--help"]

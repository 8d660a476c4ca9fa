#!/bin/sh
# One image, two ways in: a Lambda handler path (module.attribute, e.g. workers.lambda_handler.handler,
# set as the function's image command) runs under the Lambda runtime interface client; anything
# else (docpipe worker <role>) runs as given.
set -e
case "$1" in
  *.*.handler|*.handler)
    case "$1" in
      */*|*" "*) exec "$@" ;;
    esac
    exec python -m awslambdaric "$@" ;;
  *) exec "$@" ;;
esac

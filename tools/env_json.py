"""Write env.json for `sam local invoke --env-vars env.json`: every function of a deployed Greeter stack with
the environment variables it has in AWS (that stack's table, topic, bucket and stream names...), so a local
invocation reads and writes the same resources the deployed function does.

    .venv/bin/python tools/env_json.py --stack greeter [--region eu-west-1] [--out env.json]
    make env-json STACK=greeter

The functions are the stack's AWS::Lambda::Function resources, keyed by their logical ids (MatchFunction...),
which is how `sam local invoke` looks them up; their variables come from each function's deployed
configuration, so env.json always matches what the template gave that stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError


class StackNotFound(Exception):
    pass


def function_environments(stack: str, cloudformation, lambda_client) -> dict[str, dict[str, str]]:
    """{logical id: environment variables} of every Lambda function in the stack."""
    functions = {}
    try:
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] == "AWS::Lambda::Function" and resource.get("PhysicalResourceId"):
                    functions[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError":
            raise StackNotFound(error.response["Error"]["Message"]) from error
        raise
    if not functions:
        raise StackNotFound(f"stack {stack} has no Lambda functions")
    return {
        logical_id: lambda_client.get_function_configuration(FunctionName=name)
        .get("Environment", {})
        .get("Variables", {})
        for logical_id, name in sorted(functions.items())
    }


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="env_json", description=__doc__.split("\n\n")[0])
    cli.add_argument("--stack", required=True, help="the deployed stack's name (samconfig.toml's stack_name)")
    cli.add_argument("--region", help="the stack's region (default: your AWS configuration's)")
    cli.add_argument("--out", type=Path, default=Path("env.json"), help="where to write it (default: env.json)")
    args = cli.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    try:
        environments = function_environments(args.stack, session.client("cloudformation"), session.client("lambda"))
    except StackNotFound as error:
        print(
            f"env_json: {error} (region {session.region_name}); deploy it first or check --stack/--region",
            file=sys.stderr,
        )
        return 1
    args.out.write_text(json.dumps(environments, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}: {', '.join(environments)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

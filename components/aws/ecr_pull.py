"""Read-only access to the ECR repositories of given images: what an image scanner needs.

Pure: it builds a policy document and registers nothing. A scanner that pulls private images
(trivy-operator's scan jobs) gets exactly the pull actions on exactly the repositories of the
images the platform runs, plus ``ecr:GetAuthorizationToken``, which IAM cannot scope to a
resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
"""What pulling an image's manifest and layers takes, and nothing that lists or writes."""
TOKEN_ACTION = "ecr:GetAuthorizationToken"

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<cn>\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@sha256:[0-9a-f]{64})?$"
)


def ecr_repository_arn(image: str) -> str | None:
    """The ARN of the ECR repository ``image`` is pulled from, or None if it is not in ECR."""
    match = _ECR_IMAGE.match(image)
    if match is None:
        return None
    partition = "aws-cn" if match["cn"] else "aws"
    return (
        f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"
    )


def ecr_pull_policy(images: Iterable[str]) -> dict[str, Any] | None:
    """Policy document pulling the ECR ``images`` (others ignored); None when none is in ECR."""
    arns = sorted({arn for image in images if (arn := ecr_repository_arn(image))})
    if not arns:
        return None
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Token", "Effect": "Allow", "Action": [TOKEN_ACTION], "Resource": "*"},
            {"Sid": "Pull", "Effect": "Allow", "Action": list(PULL_ACTIONS), "Resource": arns},
        ],
    }

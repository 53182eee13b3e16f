"""Entry point of the policy pack: ``pulumi preview --policy-pack policies``.

Pulumi runs this file with ``policies/`` as the working directory. Building the pack starts the
analyzer's gRPC server and never returns, so nothing else may import this file.
"""

from pulumi_policy import PolicyPack
from ttbt2_policies import ALL_POLICIES, PACK_NAME

PolicyPack(name=PACK_NAME, policies=ALL_POLICIES)

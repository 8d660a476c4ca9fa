"""Security policies, one module per resource family; this module only lists them in pack order.

- `data_stores`: `database-private-encrypted`, `cache-private-encrypted`
- `buckets`: `bucket-private-encrypted`
- `iam`: `iam-no-wildcard-actions`, `iam-actions-match-code`
- `secrets`: `no-plaintext-secrets` (Lambda, Cloud Run, EC2 user data)
- `network`: `no-open-ingress`, `ec2-imdsv2-required`
- `sandbox`: `enrichment-sandbox-deployable`

Each policy is a named check function plus its `Policy` object; nothing here has side effects.
Messages name the resource and the property to change, and never repeat a secret's value.
"""

from __future__ import annotations

from policies.security.buckets import bucket_private_encrypted
from policies.security.data_stores import cache_private_encrypted, database_private_encrypted
from policies.security.iam import iam_actions_match_code, iam_no_wildcard_actions
from policies.security.network import ec2_imdsv2_required, no_open_ingress
from policies.security.sandbox import enrichment_sandbox_deployable
from policies.security.secrets import no_plaintext_secrets

SECURITY_POLICIES = [
    database_private_encrypted,
    cache_private_encrypted,
    bucket_private_encrypted,
    iam_no_wildcard_actions,
    iam_actions_match_code,
    no_plaintext_secrets,
    no_open_ingress,
    ec2_imdsv2_required,
    enrichment_sandbox_deployable,
]

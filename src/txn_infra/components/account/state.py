"""The S3 bucket every stack's Pulumi state lives in, and the key that encrypts it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra.components.account.documents import state_bucket_policy, state_key_policy
from txn_infra.components.security import Platform
from txn_infra.components.security.keys import rotated_key
from txn_spec.naming import backend_url, state_bucket, state_key_alias

# Overwritten copies of a state file kept: the newest 50, and any from the last 90 days.
STATE_VERSIONS_KEPT = 50
STATE_VERSION_DAYS = 90


@dataclass(frozen=True)
class StateBackendArgs:
    platform: Platform
    key_deletion_window_days: int


class StateBackend(pulumi.ComponentResource):
    """Versioned, KMS-encrypted (a rotated CMK), TLS only, private, ACLs disabled.

    The bucket and its key are protected: ``pulumi destroy`` refuses until they are
    unprotected on purpose (stacks/account/README.md, "Destroy").
    """

    def __init__(
        self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:account:StateBackend", name, None, opts)
        p = args.platform
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=True)

        self.key = rotated_key(
            self,
            f"{name}-key",
            description=f"{p.app} Pulumi state objects in S3 ({p.region})",
            deletion_window_days=args.key_deletion_window_days,
            policy=state_key_policy(p),
            alias=state_key_alias(p.app),
            alias_resource=f"{name}-key-alias",
            protect=True,
        )

        # The one naming function, called once the account id is known.
        name_of_bucket = pulumi.Output.from_input(p.account_id).apply(
            lambda account: state_bucket(p.app, account, p.region)
        )
        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket=name_of_bucket, opts=kept)
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        private = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # Every state file Pulumi ever wrote can be recovered.
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        # Each save rewrites a stack's file (after copying it to .bak), and each lock is written
        # once and deleted: versioning keeps every overwritten copy and a version and a delete
        # marker per lock. Copies of a stack file older than 90 days beyond its newest 50 go;
        # a released lock goes after a day, and its delete marker with it. The update history
        # (history/) and backups are never overwritten: nothing of theirs expires.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                _rule(
                    "old-stack-file-copies",
                    ".pulumi/stacks/",
                    noncurrent_version_expiration=_Noncurrent(
                        noncurrent_days=STATE_VERSION_DAYS,
                        newer_noncurrent_versions=STATE_VERSIONS_KEPT,
                    ),
                ),
                _rule(
                    "released-locks",
                    ".pulumi/locks/",
                    noncurrent_version_expiration=_Noncurrent(noncurrent_days=1),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        expired_object_delete_marker=True
                    ),
                ),
                _rule(
                    "incomplete-uploads",
                    ".pulumi/",
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                ),
            ],
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
                    ),
                    # One KMS request per bucket key instead of one per object.
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.json_dumps(state_bucket_policy(self.bucket.arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[private, ownership]),
        )

        self.backend_url = self.bucket.bucket.apply(lambda bucket: backend_url(bucket, p.region))
        self.register_outputs(
            {
                "state_bucket_name": self.bucket.bucket,
                "state_key_arn": self.key.arn,
                "backend_url": self.backend_url,
            }
        )


_Noncurrent = aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs


def _rule(rule_id: str, prefix: str, **actions: Any) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """An enabled lifecycle rule for the objects under ``prefix``."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule_id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
        **actions,
    )

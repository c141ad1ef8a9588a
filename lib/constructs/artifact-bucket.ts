import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { acknowledgeNag, nagResourceFinding } from "../nag.ts";

export interface ArtifactBucketProps {
  /**
   * Runs older than this move to Infrequent Access; the data and models stay readable for the
   * champion comparison and audits.
   * @default 30
   */
  readonly infrequentAccessAfterDays?: number;
  /**
   * Runs older than this are deleted (the registered model versions point at their model.tar.gz,
   * so keep this longer than you keep model versions around).
   * @default 365
   */
  readonly expireRunsAfterDays?: number;
  /** @default 90 */
  readonly keepAccessLogsDays?: number;
}

/** The prefix every run's artifacts live under: `runs/<runId>/…` (see `runArtifactUris`). */
export const RUNS_PREFIX = "runs/";

/**
 * The pipeline's artifact store: one prefix per run, KMS-encrypted, versioned, TLS only, with
 * server access logs. Retained on `cdk destroy` — models and reports outlive the stack.
 */
export class ArtifactBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, "Key", {
      description: "Encrypts the pipeline's artifacts (training data, models, reports)",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.accessLogs = new s3.Bucket(this, "AccessLogs", {
      // Server access logs cannot be delivered to an SSE-KMS bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: "expire-access-logs", expiration: Duration.days(props.keepAccessLogsDays ?? 90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeNag(
      this.accessLogs,
      "AwsSolutions-S1",
      "This is the access-log bucket of the artifact bucket; logging it into itself would loop.",
    );
    this.bucket = new s3.Bucket(this, "Bucket", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: "artifacts/",
      lifecycleRules: [
        {
          id: "age-out-old-runs",
          prefix: RUNS_PREFIX,
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(props.infrequentAccessAfterDays ?? 30),
            },
          ],
          expiration: Duration.days(props.expireRunsAfterDays ?? 365),
          // Versioning protects against overwrites, not against keeping every version forever.
          noncurrentVersionExpiration: Duration.days(30),
        },
        { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** `s3://<bucket>`: the root `runArtifactUris` builds each run's URIs from. */
  get artifactRoot(): string {
    return `s3://${this.bucket.bucketName}`;
  }

  /** Read any run's artifacts (data splits, models, reports). */
  grantReadRuns(grantee: iam.IGrantable): iam.Grant {
    return this.bucket.grantRead(grantee, `${RUNS_PREFIX}*`);
  }

  /**
   * Read and write run artifacts. Delete is included because writers commit through a temporary
   * key (copy, then delete); versioning keeps every overwritten or deleted version recoverable.
   */
  grantReadWriteRuns(grantee: iam.IGrantable): iam.Grant {
    return this.bucket.grantReadWrite(grantee, `${RUNS_PREFIX}*`);
  }

  /**
   * The runs/ grants above need object wildcards (`runs/*`: run ids are only known at run time,
   * and the grant's action groups end in `*`); this acknowledges exactly those for one grantee.
   */
  /** The cdk-nag finding of a grant on `runs/*`. */
  get runObjectsFinding(): string {
    return nagResourceFinding(this, this.bucket.arnForObjects(`${RUNS_PREFIX}*`));
  }

  acknowledgeRunPrefixGrants(grantee: Construct, why: string): void {
    acknowledgeNag(
      grantee,
      "AwsSolutions-IAM5",
      `${why}: objects of any run under the artifact bucket's runs/ prefix (one prefix per run id, known only at run time), with the object-level action groups of S3's grantRead/grantReadWrite and the bucket key's data-key actions.`,
      [
        "Action::s3:GetObject*",
        "Action::s3:GetBucket*",
        "Action::s3:List*",
        "Action::s3:DeleteObject*",
        "Action::s3:Abort*",
        "Action::kms:GenerateDataKey*",
        "Action::kms:ReEncrypt*",
        this.runObjectsFinding,
      ],
    );
  }
}

import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import type { ArtifactBucket } from "./artifact-bucket.ts";

export interface SnowflakeUnloadRoleProps {
  readonly artifacts: ArtifactBucket;
  readonly namePrefix: string;
  /** From `DESC INTEGRATION`: Snowflake's IAM user and the external id it presents. */
  readonly storageIntegration: { readonly iamUserArn: string; readonly externalId: string };
}

/**
 * The role a Snowflake storage integration assumes to unload into the artifact bucket: Snowflake's
 * IAM user, with the integration's external id, may write (and read back) objects under `runs/`.
 * Its name is fixed so the integration can be created before the role exists.
 */
export class SnowflakeUnloadRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SnowflakeUnloadRoleProps) {
    super(scope, id);
    this.role = new iam.Role(this, "Role", {
      roleName: `${props.namePrefix}-snowflake-unload`,
      description: "Assumed by the Snowflake storage integration to unload training data into runs/",
      assumedBy: new iam.ArnPrincipal(props.storageIntegration.iamUserArn),
      externalIds: [props.storageIntegration.externalId],
    });
    props.artifacts.grantReadWriteRuns(this.role);
    props.artifacts.acknowledgeRunPrefixGrants(this.role, "Snowflake unloads each run's sessions");
  }
}

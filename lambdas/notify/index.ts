import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { requireEnv } from "../shared/env.ts";
import { createNotifyHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "notify" });
const tracer = new Tracer({ serviceName: "notify" });
const notify = createNotifyHandler({
  sfn: tracer.captureAWSv3Client(new SFNClient({})),
  sns: tracer.captureAWSv3Client(new SNSClient({})),
  topicArn: requireEnv("PMS_TOPIC_ARN"),
});

export const handler = async (event: unknown) => {
  const result = await notify(event);
  logger.info(result.published ? "Notification published" : "Status change ignored", { ...result });
  return result;
};

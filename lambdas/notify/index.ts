import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import { requireEnv } from "../shared/env.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createNotifyHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("notify");
const { logger, tracer } = powertools;
const notify = createNotifyHandler({
  sfn: tracer.captureAWSv3Client(new SFNClient({})),
  sns: tracer.captureAWSv3Client(new SNSClient({})),
  topicArn: requireEnv("PMS_TOPIC_ARN"),
});

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const result = await notify(event);
  logger.info(result.published ? "Notification published" : "Status change ignored", { ...result });
  return result;
});

import { z } from "zod";
import { describeInputProblems } from "../pipeline/execution-input.ts";
import type { InvocationResponse } from "../ports/model-host.ts";

/** The serving contract's response, as every host checks it before handing it on. */
const InvocationResponseSchema = z.object({
  recommendations: z.array(z.array(z.object({ sku: z.string().min(1), score: z.number() }))),
  fallback: z.array(z.boolean()).optional(),
});

export class InvalidInvocationResponseError extends Error {
  override readonly name = "InvalidInvocationResponse";
}

export function parseInvocationResponse(body: string): InvocationResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    throw new InvalidInvocationResponseError(
      `The endpoint answered with something that is not JSON: ${body.slice(0, 200)}`,
      {
        cause: error,
      },
    );
  }
  const result = InvocationResponseSchema.safeParse(raw);
  if (!result.success) {
    throw new InvalidInvocationResponseError(
      `The endpoint's answer does not follow the serving contract:\n${describeInputProblems(result.error)}`,
      { cause: result.error },
    );
  }
  return result.data;
}

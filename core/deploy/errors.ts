/**
 * Named so that Step Functions can tell them apart (`error.name` is the Task's error name):
 * `EndpointBusy` is worth a Retry with back-off, the others are terminal.
 */

/** The endpoint is creating, updating, under maintenance or being deleted: try again in a minute. */
export class EndpointBusyError extends Error {
  override readonly name = "EndpointBusy";
  constructor(
    readonly endpointName: string,
    readonly status: string,
    message?: string,
    options?: ErrorOptions,
  ) {
    super(message ?? `Endpoint ${endpointName} is ${status}; another change is in progress, retry later`, options);
  }
}

export class EndpointNotFoundError extends Error {
  override readonly name = "EndpointNotFound";
  constructor(
    readonly endpointName: string,
    options?: ErrorOptions,
  ) {
    super(`Endpoint ${endpointName} does not exist`, options);
  }
}

/** The endpoint is in a state only a person can resolve (e.g. SageMaker's `UpdateRollbackFailed`). */
export class EndpointNeedsAttentionError extends Error {
  override readonly name = "EndpointNeedsAttention";
}

/** A deployment or roll-back could not be carried out; the cause says why. */
export class DeploymentError extends Error {
  override readonly name = "DeploymentFailed";
}

export class RegistrationError extends Error {
  override readonly name = "RegistrationFailed";
}

export class CleanUpError extends Error {
  override readonly name = "CleanUpFailed";
}

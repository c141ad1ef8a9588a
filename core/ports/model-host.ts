/**
 * Hosts the recommender behind the serving contract: a SageMaker real-time endpoint in the cloud,
 * the serving process on localhost in the local twin.
 */
export interface Recommendation {
  readonly sku: string;
  readonly score: number;
}

export interface InvocationRequest {
  readonly sessions: readonly (readonly string[])[];
  readonly k?: number;
}

export interface InvocationResponse {
  readonly recommendations: readonly (readonly Recommendation[])[];
  /** Per session: true when no item was known and popular items were returned instead. */
  readonly fallback?: readonly boolean[];
}

export interface DeploymentRequest {
  /** The endpoint to create or update. @default the host's configured endpoint */
  readonly endpointName?: string;
  readonly runId: string;
  readonly shortId: string;
  readonly modelUri: string;
  readonly modelPackageArn?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface EndpointDeployment {
  readonly endpointName: string;
  readonly endpointConfigName: string;
  readonly modelName: string;
  readonly previousEndpointConfigName: string | null;
}

export interface EndpointStatus {
  readonly status: string;
  /** The endpoint config now serving. */
  readonly endpointConfigName: string | null;
  readonly failureReason?: string;
}

export interface ModelHost {
  deploy(request: DeploymentRequest): Promise<EndpointDeployment>;
  status(endpointName: string): Promise<EndpointStatus>;
  invoke(endpointName: string, request: InvocationRequest): Promise<InvocationResponse>;
  rollBack(endpointName: string, endpointConfigName: string): Promise<void>;
  /**
   * Removes the endpoint itself (its configs and models stay for clean-up). Used when the first
   * deployment of an endpoint fails its smoke test: there is no previous model to go back to.
   */
  deleteEndpoint?(endpointName: string): Promise<void>;
}

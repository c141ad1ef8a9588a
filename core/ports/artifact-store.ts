/**
 * Objects by URI: `s3://bucket/key` in the cloud, an absolute path (or `file://` URI) locally.
 * Writers are atomic: a reader never sees a half-written object at its final URI.
 */
export interface ArtifactStore {
  put(uri: string, body: Uint8Array | string, options?: { readonly contentType?: string }): Promise<void>;
  get(uri: string): Promise<Uint8Array>;
  getText(uri: string): Promise<string>;
  exists(uri: string): Promise<boolean>;
  /** Every object whose URI starts with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(uri: string): Promise<void>;
}

export class ArtifactNotFoundError extends Error {
  override readonly name = "ArtifactNotFound";
  constructor(
    readonly uri: string,
    options?: ErrorOptions,
  ) {
    super(`No artifact at ${uri}`, options);
  }
}

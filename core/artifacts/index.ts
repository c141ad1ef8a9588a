import type { S3Client } from "@aws-sdk/client-s3";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import { FileSystemArtifactStore } from "./filesystem.ts";
import { S3ArtifactStore } from "./s3.ts";

/**
 * One store for both kinds of URI, so code that receives a URI (the training entry point reads
 * `s3://…` in Batch and a path locally) never has to choose an adapter itself.
 */
export class RoutingArtifactStore implements ArtifactStore {
  private readonly local = new FileSystemArtifactStore();
  private s3?: S3ArtifactStore;

  constructor(private readonly createS3Client?: () => S3Client) {}

  private storeFor(uri: string): ArtifactStore {
    if (!uri.startsWith("s3://")) return this.local;
    if (!this.createS3Client) throw new Error(`S3 URI ${uri} given, but this process has no S3 client configured`);
    this.s3 ??= new S3ArtifactStore(this.createS3Client());
    return this.s3;
  }

  put(uri: string, body: Uint8Array | string, options?: { readonly contentType?: string }) {
    return this.storeFor(uri).put(uri, body, options);
  }
  get(uri: string) {
    return this.storeFor(uri).get(uri);
  }
  getText(uri: string) {
    return this.storeFor(uri).getText(uri);
  }
  exists(uri: string) {
    return this.storeFor(uri).exists(uri);
  }
  list(prefix: string) {
    return this.storeFor(prefix).list(prefix);
  }
  delete(uri: string) {
    return this.storeFor(uri).delete(uri);
  }
}

export { FileSystemArtifactStore } from "./filesystem.ts";
export { parseS3Uri, S3ArtifactStore } from "./s3.ts";

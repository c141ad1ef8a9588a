import { ArtifactNotFoundError, type ArtifactStore } from "../../../core/ports/artifact-store.ts";

/** An ArtifactStore in a Map, for `s3://` URIs in tests of cloud paths. */
export class MemoryArtifactStore implements ArtifactStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly deleted: string[] = [];

  async put(uri: string, body: Uint8Array | string): Promise<void> {
    this.objects.set(uri, typeof body === "string" ? new TextEncoder().encode(body) : body);
  }
  async get(uri: string): Promise<Uint8Array> {
    const body = this.objects.get(uri);
    if (!body) throw new ArtifactNotFoundError(uri);
    return body;
  }
  async getText(uri: string): Promise<string> {
    return new TextDecoder().decode(await this.get(uri));
  }
  async exists(uri: string): Promise<boolean> {
    return this.objects.has(uri);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((uri) => uri.startsWith(prefix)).sort();
  }
  async delete(uri: string): Promise<void> {
    this.deleted.push(uri);
    this.objects.delete(uri);
  }
}

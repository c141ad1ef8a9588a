import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ArtifactNotFoundError, type ArtifactStore } from "../ports/artifact-store.ts";

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new Error(`Not an S3 URI: "${uri}" (expected s3://bucket/key)`);
  return { bucket: match[1] ?? "", key: match[2] ?? "" };
}

/**
 * The cloud artifact store. A single PutObject is atomic in S3 (readers see the old object or the
 * new one, never a part), so no temporary key is needed for objects written in one request.
 */
export class S3ArtifactStore implements ArtifactStore {
  constructor(private readonly client: S3Client) {}

  async put(uri: string, body: Uint8Array | string, options?: { readonly contentType?: string }): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    await this.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: options?.contentType }),
    );
  }

  async get(uri: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!response.Body) throw new ArtifactNotFoundError(uri);
      return await response.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey) throw new ArtifactNotFoundError(uri, { cause: error });
      throw error;
    }
  }

  async getText(uri: string): Promise<string> {
    return new TextDecoder().decode(await this.get(uri));
  }

  async exists(uri: string): Promise<boolean> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if (error instanceof NotFound || error instanceof NoSuchKey) return false;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { bucket, key } = parseS3Uri(prefix);
    const uris: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: continuationToken }),
      );
      for (const object of page.Contents ?? []) if (object.Key) uris.push(`s3://${bucket}/${object.Key}`);
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return uris.sort();
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
}

import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ArtifactNotFoundError, type ArtifactStore } from "../ports/artifact-store.ts";

/** Accepts `file://` URIs and absolute paths alike, so the local twin can hand either around. */
export function toLocalPath(uri: string): string {
  return uri.startsWith("file://") ? fileURLToPath(uri) : uri;
}

/** The local twin's artifact store: a folder. Writes go to a temporary sibling and are renamed into place. */
export class FileSystemArtifactStore implements ArtifactStore {
  async put(uri: string, body: Uint8Array | string): Promise<void> {
    const path = toLocalPath(uri);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomUUID()}.partial`;
    try {
      await writeFile(temporary, body);
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async get(uri: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(toLocalPath(uri)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new ArtifactNotFoundError(uri, { cause: error });
      throw error;
    }
  }

  async getText(uri: string): Promise<string> {
    return new TextDecoder().decode(await this.get(uri));
  }

  async exists(uri: string): Promise<boolean> {
    try {
      return (await stat(toLocalPath(uri))).isFile();
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const path = toLocalPath(prefix);
    // A prefix is either a folder (ends with "/") or a folder plus the start of a file name.
    const folder = path.endsWith("/") ? path : dirname(path);
    const found: string[] = [];
    const walk = async (directory: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(directory, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
        throw error;
      }
      for (const entry of entries) {
        const child = join(directory, entry.name);
        if (entry.isDirectory()) await walk(child);
        else if (!entry.name.endsWith(".partial") && child.startsWith(path)) found.push(child);
      }
    };
    await walk(folder);
    const prefixIsUri = prefix.startsWith("file://");
    return found.sort().map((file) => (prefixIsUri ? `file://${file}` : file));
  }

  async delete(uri: string): Promise<void> {
    await rm(toLocalPath(uri), { force: true });
  }
}

import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import type { RunArtifactUris } from "../pipeline/run-context.ts";
import type { ArtifactStore } from "../ports/artifact-store.ts";

/**
 * Product attributes for slices and the perturbation test's "same category", read from the
 * products table's Parquet when the run's Extract unloaded one (columns of `raw.products`:
 * `sku`, `category_hash`, `price_bucket`). The run's layout has no products entry, so this stage
 * looks for it beside the splits.
 */
export const productsPrefix = (uris: RunArtifactUris) => `${uris.run}/data/products/`;

/** Warehouse column → the slice's name in the report. */
const ATTRIBUTE_COLUMNS: Record<string, string> = {
  category: "category",
  category_hash: "category",
  price_bucket: "price bucket",
};
const SKU_COLUMNS = ["sku", "product_sku_hash", "item_id"];

export async function readItemAttributes(
  store: ArtifactStore,
  prefix: string,
): Promise<Map<string, Record<string, string>> | undefined> {
  const parts = (await store.list(prefix)).filter((uri) => uri.endsWith(".parquet"));
  if (parts.length === 0) return undefined;
  const attributes = new Map<string, Record<string, string>>();
  for (const part of parts) {
    const bytes = await store.get(part);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const names = parquetSchema(parquetMetadata(file)).children.map((child) => child.element.name);
    const skuColumn = SKU_COLUMNS.find((column) => names.includes(column));
    if (!skuColumn) throw new Error(`${part}: no SKU column (expected one of ${SKU_COLUMNS.join(", ")})`);
    const columns = names.filter((name) => name in ATTRIBUTE_COLUMNS);
    const rows = (await parquetReadObjects({ file, compressors, columns: [skuColumn, ...columns] })) as Record<
      string,
      unknown
    >[];
    for (const row of rows) {
      const record: Record<string, string> = {};
      for (const column of columns) {
        const value = row[column];
        if (value !== null && value !== undefined && value !== "")
          record[ATTRIBUTE_COLUMNS[column] as string] = String(value);
      }
      attributes.set(String(row[skuColumn]), record);
    }
  }
  return attributes;
}

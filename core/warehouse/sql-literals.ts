/**
 * SQL string literals for the few places a warehouse takes a constant, not a bind parameter: the
 * file path of DuckDB's `read_csv`/`COPY … TO` and Snowflake's `PUT`. Kept free of any driver import
 * so the extract Lambda's bundle never pulls in DuckDB's native binding.
 */
export function duckdbString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function snowflakeString(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

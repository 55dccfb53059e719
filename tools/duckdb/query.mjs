// query.mjs runs one SQL statement with DuckDB and prints the result rows to
// stdout as JSON lines, one object per row keyed by column name. Go tests use
// it (through internal/testutil.DuckDBQuery) to prove that the Parquet files
// winnow writes are readable by an engine other than the one that wrote them.
//
// Usage:
//
//	node query.mjs "SELECT count(*) AS n FROM 'shards/*.parquet'"
//	echo "SELECT 42 AS answer" | node query.mjs
//
// The SQL comes from the first argument or, when there is none, from stdin.
// The database is in memory, so the statement can read files but leaves
// nothing behind.
//
// Values are converted to JSON as follows:
//   - BIGINT, HUGEINT and other 64-bit or wider integers become JSON numbers
//     when they fit in a double exactly (|n| <= 2^53 - 1) and decimal strings
//     otherwise, so no value loses precision silently.
//   - BLOB and other byte values become base64 strings.
//   - Timestamps and dates become ISO 8601 strings in UTC, to the
//     millisecond, because they pass through a JavaScript Date.
//   - NaN and infinite floats become null, because JSON has no literal for them.
//   - SQL NULL becomes null.
// A result with two columns of the same name keeps the last one; alias
// columns to tell them apart.
//
// Errors go to stderr and the exit status is 1.

import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

function readSQL() {
  if (process.argv.length > 2) {
    return process.argv.slice(2).join(' ');
  }
  return readFileSync(0, 'utf8');
}

// toJSONValue is a JSON.stringify replacer for the values that JSON cannot
// hold as they are. It reads the raw value from the holder (this[key])
// because JSON.stringify has already applied Buffer's toJSON to value.
function toJSONValue(key, value) {
  const raw = this[key];
  if (raw instanceof Uint8Array) {
    return Buffer.from(raw).toString('base64');
  }
  if (typeof value === 'bigint') {
    return Number.isSafeInteger(Number(value)) && BigInt(Number(value)) === value
      ? Number(value)
      : value.toString();
  }
  return value;
}

async function main() {
  const sql = readSQL();
  if (sql.trim() === '') {
    throw new Error('no SQL given: pass it as the first argument or on stdin');
  }
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const result = await connection.stream(sql);
    for await (const rows of result.yieldRowObjectJs()) {
      let out = '';
      for (const row of rows) {
        out += JSON.stringify(row, toJSONValue) + '\n';
      }
      if (!process.stdout.write(out)) {
        await new Promise((resolve) => process.stdout.once('drain', resolve));
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

main().catch((err) => {
  process.stderr.write(`query.mjs: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});

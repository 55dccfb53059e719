// read.mjs reads one Arrow IPC stream from a URL with the apache-arrow npm
// package, a reader that winnow did not write, and prints what it read as
// one JSON object on stdout. Go tests use it to check that winnow serve's
// stream decodes elsewhere as winnow meant it.
//
// Usage:
//
//	node read.mjs URL [BEARER_TOKEN]
//
// The object holds:
//   - fields: the schema's field names, in order;
//   - metadata: the schema's metadata;
//   - batches: one {rows, metadata} per record batch, where metadata is the
//     batch's custom metadata (winnow.state and winnow.epoch);
//   - docs: one object per row, keyed by field name. 64-bit integers become
//     JSON numbers, which is exact below 2^53, and lists become arrays.
//
// An HTTP status other than 200, or a stream that fails to decode, is
// reported on stderr with exit status 1.

import { RecordBatchReader } from 'apache-arrow';

function plain(value) {
  if (typeof value === 'bigint') {
    return Number(value);
  }
  if (value !== null && typeof value === 'object' && typeof value.toArray === 'function') {
    return Array.from(value.toArray(), plain);
  }
  return value;
}

async function main() {
  const [url, token] = process.argv.slice(2);
  if (!url) {
    throw new Error('usage: node read.mjs URL [BEARER_TOKEN]');
  }
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(url, { headers });
  if (response.status !== 200) {
    throw new Error(`GET ${url}: HTTP ${response.status}: ${await response.text()}`);
  }
  const reader = await RecordBatchReader.from(response.body);
  await reader.open();
  const fields = reader.schema.fields.map((f) => f.name);
  const out = {
    fields,
    metadata: Object.fromEntries(reader.schema.metadata),
    batches: [],
    docs: [],
  };
  for await (const batch of reader) {
    out.batches.push({ rows: batch.numRows, metadata: Object.fromEntries(batch.metadata ?? new Map()) });
    const columns = fields.map((name) => batch.getChild(name));
    for (let i = 0; i < batch.numRows; i++) {
      const doc = {};
      fields.forEach((name, k) => {
        doc[name] = plain(columns[k].get(i));
      });
      out.docs.push(doc);
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});

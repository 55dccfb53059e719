// check.mjs loads a winnow HTML report in Debian's headless Chromium, as a
// reader would, and prints what it found as one JSON object on stdout. Go
// tests (internal/cli/report_test.go) run it and check the result.
//
// Usage:
//
//	node check.mjs URL OUT_DIR
//
// URL is a file:// or loopback http:// address of the report. OUT_DIR
// receives report-light.png, report-dark.png (full-page screenshots) and
// report.pdf (the print layout).
//
// The object holds:
//   - console: console messages of type error or warning, and uncaught
//     page errors, as strings;
//   - requests: every request the page made other than for itself;
//   - figures: for each chart (figure[data-table]), its table, its group
//     and the number of marks ([data-mark]) per data-series ("" when the
//     chart has one series);
//   - tables: the name and body row count of every sortable table;
//   - theme: the page background under each colour scheme and after the
//     theme toggle, and the toggle's data-theme;
//   - sort: whether clicking a numeric column's header sorted the rows
//     ascending, then descending;
//   - print: with the print stylesheet, while the dark theme is on, the
//     background, whether the toggle is hidden, and whether the tables in
//     closed <details> elements are shown.
//
// Chromium is /usr/bin/chromium unless CHROMIUM names another binary. It
// runs with a new, empty profile, which is removed at the end, and with
// background networking off, so the only network traffic is the page's own.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function background(page) {
  return page.evaluate(() => getComputedStyle(document.body).backgroundColor);
}

// collectFigures counts the marks of every chart, by series.
function collectFigures(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('figure[data-table]'), (fig) => {
    const marks = {};
    fig.querySelectorAll('[data-mark]').forEach((m) => {
      const series = m.getAttribute('data-series') || '';
      marks[series] = (marks[series] || 0) + 1;
    });
    return { table: fig.dataset.table, group: fig.dataset.group || '', marks };
  }));
}

function collectTables(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('table.sortable'), (t) => ({
    name: t.dataset.table,
    rows: t.tBodies[0].rows.length,
  })));
}

// checkSort clicks the header of the first numeric column of the first
// table with at least three rows, twice, and reads the column each time.
// The clicks go through the DOM because the table may sit in a closed
// <details>, where a pointer could not reach it.
function checkSort(page) {
  return page.evaluate(() => {
    const read = (table, col) => Array.from(table.tBodies[0].rows, (r) => r.cells[col].dataset.v)
      .filter((v) => v !== '').map(Number);
    const isSorted = (xs, dir) => xs.every((x, i) => i === 0 || dir * (x - xs[i - 1]) >= 0);
    for (const table of document.querySelectorAll('table.sortable')) {
      if (table.tBodies[0].rows.length < 3) {
        continue;
      }
      const headers = Array.from(table.querySelectorAll('thead th'));
      const col = headers.findIndex((th) => th.classList.contains('num'));
      if (col < 0) {
        continue;
      }
      const button = headers[col].querySelector('button');
      button.click();
      const ascending = isSorted(read(table, col), 1) && headers[col].getAttribute('aria-sort') === 'ascending';
      button.click();
      const descending = isSorted(read(table, col), -1) && headers[col].getAttribute('aria-sort') === 'descending';
      return { table: table.dataset.table, column: headers[col].textContent.trim(), ascending, descending };
    }
    return null;
  });
}

async function main() {
  const [url, outDir] = process.argv.slice(2);
  if (!url || !outDir) {
    throw new Error('usage: node check.mjs URL OUT_DIR');
  }
  const profile = await mkdtemp(join(tmpdir(), 'winnow-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: chromiumFlags,
    viewport: { width: 1200, height: 900 },
    colorScheme: 'light',
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    const messages = [];
    const requests = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') {
        messages.push(`${msg.type()}: ${msg.text()}`);
      }
    });
    page.on('pageerror', (err) => messages.push(`uncaught: ${err.message}`));
    page.on('request', (req) => {
      if (req.url() !== url) {
        requests.push(req.url());
      }
    });

    await page.goto(url, { waitUntil: 'load' });
    const result = { console: messages, requests, figures: await collectFigures(page), tables: await collectTables(page) };

    const theme = { light: await background(page) };
    await page.screenshot({ path: join(outDir, 'report-light.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    theme.preferDark = await background(page);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.click('#theme-toggle');
    theme.toggled = await background(page);
    theme.dataTheme = await page.evaluate(() => document.documentElement.dataset.theme || '');
    await page.screenshot({ path: join(outDir, 'report-dark.png'), fullPage: true });
    result.theme = theme;

    result.sort = await checkSort(page);

    await page.emulateMedia({ media: 'print' });
    result.print = await page.evaluate(() => ({
      background: getComputedStyle(document.body).backgroundColor,
      toggleHidden: getComputedStyle(document.getElementById('theme-toggle')).display === 'none',
      closedTablesShown: Array.from(document.querySelectorAll('details:not([open]) table'))
        .every((t) => t.checkVisibility()),
    }));
    await page.pdf({ path: join(outDir, 'report.pdf'), printBackground: true });

    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`check.mjs: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});

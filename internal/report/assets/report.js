// winnow report: the theme toggle, sortable tables, and open <details>
// while printing. The page reads and sends nothing over the network.
(function () {
  'use strict';
  var root = document.documentElement;
  var themeKey = 'winnow-report-theme';

  // localStorage throws for file:// pages in some browsers; the toggle
  // then lasts until the page is closed.
  function loadTheme() {
    try { return window.localStorage.getItem(themeKey); } catch (e) { return null; }
  }
  function saveTheme(theme) {
    try { window.localStorage.setItem(themeKey, theme); } catch (e) { /* not kept */ }
  }
  function effectiveTheme() {
    if (root.dataset.theme) {
      return root.dataset.theme;
    }
    return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }

  var saved = loadTheme();
  if (saved === 'light' || saved === 'dark') {
    root.dataset.theme = saved;
  }
  var toggle = document.getElementById('theme-toggle');
  function labelToggle() {
    var dark = effectiveTheme() === 'dark';
    toggle.textContent = dark ? 'Light mode' : 'Dark mode';
    toggle.setAttribute('aria-pressed', dark ? 'true' : 'false');
  }
  toggle.addEventListener('click', function () {
    root.dataset.theme = effectiveTheme() === 'dark' ? 'light' : 'dark';
    saveTheme(root.dataset.theme);
    labelToggle();
  });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', labelToggle);
  labelToggle();

  // Numeric cells carry their raw value in data-v; an empty data-v is an
  // unknown value and sorts last either way.
  function compareCells(a, b, numeric, direction) {
    if (!numeric) {
      return direction * a.textContent.localeCompare(b.textContent);
    }
    var x = a.dataset.v, y = b.dataset.v;
    if (x === '' || y === '') {
      return (x === '') - (y === '');
    }
    return direction * (Number(x) - Number(y));
  }

  function sortTable(table, th, column) {
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('thead th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var numeric = th.classList.contains('num');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      return compareCells(r1.cells[column], r2.cells[column], numeric, ascending ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('thead th').forEach(function (th, column) {
      th.querySelector('button').addEventListener('click', function () {
        sortTable(table, th, column);
      });
    });
  });

  // Print every collapsed table, then restore what the reader had open.
  var closed = [];
  window.addEventListener('beforeprint', function () {
    closed = Array.prototype.filter.call(document.querySelectorAll('details'), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener('afterprint', function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });
})();

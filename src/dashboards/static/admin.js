// The admin dashboard: signs in against the API, then draws the period report and the live
// figures. Every value goes in with textContent: search queries come from shoppers.
"use strict";

const TOKENS = "storefront.admin.tokens";
const REALTIME_EVERY_MS = 15000;
const charts = {};
let realtimeTimer = null;

const $ = (selector) => document.querySelector(selector);

function tokens() {
  return JSON.parse(sessionStorage.getItem(TOKENS) || "null");
}

function keep(pair) {
  if (pair) sessionStorage.setItem(TOKENS, JSON.stringify(pair));
  else sessionStorage.removeItem(TOKENS);
}

class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
  }
}

async function send(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body: body && JSON.stringify(body) });
  const found = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Problem(response.status, found || {});
  return found;
}

// A GET as the signed-in user; an expired access token is refreshed once.
async function get(path) {
  const pair = tokens();
  if (!pair) throw new Problem(401, { title: "Sign in first." });
  try {
    return await send("GET", path, null, pair.access_token);
  } catch (error) {
    if (error.status !== 401) throw error;
    keep(await send("POST", "/api/auth/refresh", { refresh_token: pair.refresh_token }));
    return send("GET", path, null, tokens().access_token);
  }
}

const money = new Map();
function formatMoney(value, currency) {
  if (!money.has(currency)) {
    money.set(currency, new Intl.NumberFormat(undefined, { style: "currency", currency }));
  }
  return money.get(currency).format(Number(value));
}
const percent = (value) => (value == null ? "–" : `${(100 * value).toFixed(1)} %`);
const count = (value) => Number(value).toLocaleString();

function pick(object, path) {
  return path.split(".").reduce((found, key) => (found == null ? found : found[key]), object);
}

function fill(root, attribute, source, currency) {
  for (const element of root.querySelectorAll(`[${attribute}]`)) {
    const value = pick(source, element.getAttribute(attribute));
    if (element.hasAttribute("data-percent")) element.textContent = percent(value);
    else if (value == null) element.textContent = "–";
    else if (element.hasAttribute("data-money")) {
      element.textContent = formatMoney(value, element.getAttribute("data-money") || currency);
    } else element.textContent = count(value);
  }
}

function draw(id, config) {
  charts[id]?.destroy();
  config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
  charts[id] = new Chart(document.getElementById(id), config);
  const points = config.data.datasets.reduce((n, set) => n + set.data.length, 0);
  document.getElementById(id).dataset.points = String(points);
}

function rows(table, cells) {
  const body = table.tBodies[0] || table.createTBody();
  body.replaceChildren(
    ...cells.map((values) => {
      const row = document.createElement("tr");
      for (const [text, numeric] of values) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (numeric) cell.className = "num";
        row.append(cell);
      }
      return row;
    }),
  );
}

function drawRevenue(report) {
  draw("revenue-chart", {
    type: "line",
    data: {
      labels: report.series.map((row) => row.period),
      datasets: [
        { label: `Revenue (${report.currency})`, data: report.series.map((row) => Number(row.revenue)),
          borderColor: "#2c6be0", backgroundColor: "#2c6be033", fill: true, yAxisID: "revenue" },
        { label: "Orders", data: report.series.map((row) => row.orders),
          borderColor: "#e0822c", yAxisID: "orders" },
      ],
    },
    options: { scales: { revenue: { position: "left" }, orders: { position: "right", grid: { drawOnChartArea: false } } } },
  });
}

function drawProducts(report) {
  const top = report.top_products.slice(0, 10);
  draw("products-chart", {
    type: "bar",
    data: {
      labels: top.map((row) => row.name || row.product_id.slice(0, 8)),
      datasets: [{ label: `Revenue (${report.currency})`, data: top.map((row) => Number(row.revenue)),
        backgroundColor: "#2c6be0" }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } } },
  });
}

function drawFunnel(report) {
  draw("funnel-chart", {
    type: "bar",
    data: {
      labels: report.funnel.map((row) => row.conversion == null ? row.stage : `${row.stage} (${percent(row.conversion)})`),
      datasets: [{ label: "Events", data: report.funnel.map((row) => row.events), backgroundColor: "#3a9a6b" }],
    },
    options: { plugins: { legend: { display: false } } },
  });
}

// Cohorts as a heat map: one row per first-order month, one column per month after.
function drawCohorts(report) {
  const table = $("#cohorts");
  const cohorts = [...new Set(report.cohorts.map((row) => row.cohort))].sort();
  const width = Math.max(0, ...report.cohorts.map((row) => row.months_later)) + 1;
  const head = document.createElement("tr");
  for (const title of ["Cohort", "Customers", ...Array.from({ length: width }, (_, i) => `+${i}`)]) {
    const cell = document.createElement("th");
    cell.textContent = title;
    head.append(cell);
  }
  const body = cohorts.map((cohort) => {
    const row = document.createElement("tr");
    const cells = report.cohorts.filter((found) => found.cohort === cohort);
    const size = cells.find((found) => found.months_later === 0)?.customers ?? 0;
    for (const text of [cohort.slice(0, 7), count(size)]) {
      const cell = document.createElement("th");
      cell.textContent = text;
      row.append(cell);
    }
    for (let month = 0; month < width; month++) {
      const cell = document.createElement("td");
      const found = cells.find((c) => c.months_later === month);
      if (found) {
        cell.textContent = percent(found.retention);
        cell.style.background = `rgba(44, 107, 224, ${0.1 + 0.9 * found.retention})`;
        cell.style.color = found.retention > 0.5 ? "#fff" : "inherit";
      }
      row.append(cell);
    }
    return row;
  });
  table.replaceChildren(document.createElement("thead"), document.createElement("tbody"));
  table.tHead.append(head);
  table.tBodies[0].append(...body);
  table.dataset.cohorts = String(cohorts.length);
}

async function showReport() {
  const form = new FormData($("#filters"));
  const period = form.get("period");
  const query = new URLSearchParams();
  for (const name of ["from", "to", "currency"]) if (form.get(name)) query.set(name, form.get(name));
  history.replaceState(null, "", `?${new URLSearchParams({ period, ...Object.fromEntries(query) })}`);
  const report = await get(`/api/admin/dashboard/${period}?${query}`);
  fill($("#totals"), "data-total", report.totals, report.currency);
  fill($("#totals"), "data-search", report.search, report.currency);
  $("#as-of").textContent =
    `${report.start} to ${report.end}, in ${report.converted ? "USD at each order's rate" : report.currency}` +
    (report.as_of ? ` · data as of ${new Date(report.as_of).toLocaleString()}` : " · no data yet");
  drawRevenue(report);
  drawProducts(report);
  drawFunnel(report);
  drawCohorts(report);
  rows($("#zero-queries"), report.zero_result_queries.map((q) => [[q.query], [count(q.searches), true]]));
  document.body.dataset.report = "shown";
}

async function showRealtime() {
  const now = await get("/api/admin/dashboard/realtime");
  fill($("#now"), "data-now", now, "USD");
  $("#low-stock-count").textContent =
    `${count(now.low_stock.count)} variants with ${now.low_stock.threshold} or fewer units available`;
  rows($("#low-stock"), now.low_stock.lowest.map((item) => [[item.sku], [item.name], [count(item.available), true]]));
  $("#feed").replaceChildren(
    ...now.latest_orders.map((order) => {
      const item = document.createElement("li");
      const when = document.createElement("span");
      when.textContent = new Date(order.paid_at).toLocaleTimeString();
      const what = document.createElement("span");
      what.textContent = `${order.units} items · ${formatMoney(order.total, order.currency)}`;
      item.append(when, what);
      return item;
    }),
  );
  if (!now.latest_orders.length) {
    const item = document.createElement("li");
    item.textContent = "No paid orders in the last while.";
    $("#feed").append(item);
  }
  document.body.dataset.realtime = "shown";
}

function report(error) {
  if (error.status === 401) return signedOut();
  const banner = $("#problem");
  banner.textContent = error.message;
  banner.hidden = false;
}

async function refresh() {
  $("#problem").hidden = true;
  await Promise.all([showReport(), showRealtime()]).catch(report);
}

function signedIn() {
  $("#sign-in").hidden = true;
  $("#dashboard").hidden = false;
  $("#sign-out").hidden = false;
  clearInterval(realtimeTimer);
  realtimeTimer = setInterval(() => showRealtime().catch(report), REALTIME_EVERY_MS);
  return refresh();
}

function signedOut() {
  keep(null);
  clearInterval(realtimeTimer);
  $("#dashboard").hidden = true;
  $("#sign-out").hidden = true;
  $("#sign-in").hidden = false;
}

function start() {
  const wanted = new URLSearchParams(location.search);
  const filters = $("#filters");
  for (const name of ["period", "from", "to", "currency"]) {
    if (wanted.get(name)) filters.elements[name].value = wanted.get(name);
  }
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  $("#sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const error = event.target.querySelector(".error");
    try {
      keep(await send("POST", "/api/auth/login", { email: form.get("email"), password: form.get("password") }));
      error.hidden = true;
      await signedIn();
    } catch (problem) {
      error.textContent = problem.message;
      error.hidden = false;
    }
  });
  $("#sign-out").addEventListener("click", async () => {
    const pair = tokens();
    if (pair) await send("POST", "/api/auth/logout", null, pair.access_token).catch(() => null);
    signedOut();
  });
  if (tokens()) signedIn();
  else signedOut();
}

document.addEventListener("DOMContentLoaded", start);

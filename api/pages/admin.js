// The admin console: plain script on the public JSON API, with the token the person pasted.
// Text from the API goes into the page as text nodes, never as markup (the page's policy
// also refuses HTML strings in DOM sinks).
"use strict";
const $ = (id) => document.getElementById(id);
const config = JSON.parse($("config").textContent);

// --- the token: it leaves the address as soon as it is read ------------------------------
const fragment = new URLSearchParams(location.hash.slice(1));
const hashToken = fragment.get("token");
if (hashToken) {
  sessionStorage.setItem("adminToken", hashToken);
  fragment.delete("token");
  history.replaceState(null, "", location.pathname + (String(fragment) ? "#" + fragment : ""));
}
$("token").value = sessionStorage.getItem("adminToken") || "";
$("token-box").open = !$("token").value;
$("token").addEventListener("change", () => {
  sessionStorage.setItem("adminToken", $("token").value.trim());
  if (!$("list").hidden) { listing.fragment = null; showSearch(new URLSearchParams(location.hash.slice(1))); }
});

// --- talking to the API ------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    super(describeProblem(status, problem));
    this.status = status;
    // No answer, or one that says nothing was decided: the same request may be sent again.
    this.retryable = status === 0 || status === 408 || status === 429 || status >= 500;
  }
}

function describeProblem(status, problem) {
  if (!problem || typeof problem !== "object") return status ? `HTTP ${status}` : "the engine did not answer";
  const lines = [`${problem.title || "HTTP " + status}: ${problem.detail || ""}`.trim()];
  for (const error of problem.errors || []) lines.push(`  ${error.field}: ${error.message}`);
  return lines.join("\n");
}

async function api(method, path, body, extraHeaders) {
  const headers = Object.assign({ "Authorization": "Bearer " + $("token").value.trim() }, extraHeaders || {});
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, null);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, position: response.headers.get("X-Log-Position") };
}

const get = async (path) => (await api("GET", path)).data;
const orderPath = (orderId) => encodeURIComponent(orderId);

// An operator's command (capture, void, replay, dismiss) under one Idempotency-Key per
// intended command, named by `intent` (what it acts on, with what): sending it again after
// no answer or a "try again" reuses the key, so the engine acts once. The key is forgotten
// once the engine has decided.
const commandKeys = new Map();

async function command(intent, path, body) {
  if (!commandKeys.has(intent)) commandKeys.set(intent, crypto.randomUUID());
  try {
    const answer = await api("POST", path, body, { "Idempotency-Key": commandKeys.get(intent) });
    commandKeys.delete(intent);
    return answer;
  } catch (error) {
    if (!error.retryable) commandKeys.delete(intent);
    throw error;
  }
}

// What the error box says after a command failed: a retryable one names the button that
// sends the same request again.
function commandFailure(error, button) {
  return error.retryable ? `${error.message}\nNothing was decided: "${button}" sends the same request again.` : error.message;
}

// Each person-facing pause between polls of something the engine settles later.
const pause = (delay) => new Promise((resolve) => setTimeout(resolve, delay));

function showError(error) { $("error").textContent = error ? (error.message || String(error)) : ""; }
function showNotice(text) { $("notice").textContent = text || ""; }

// --- money: minor units in the currency's own ISO 4217 exponent (the server's table) ------

function money(amount, currency) {
  const exponent = config.currencyExponents[currency];
  if (exponent === undefined || !Number.isSafeInteger(amount)) return `${amount} ${currency} (minor units)`;
  const digits = String(Math.abs(amount)).padStart(exponent + 1, "0");
  const units = exponent ? digits.slice(0, -exponent) + "." + digits.slice(-exponent) : digits;
  // Formatted from an exact decimal string, never a float division.
  return new Intl.NumberFormat(undefined, {
    style: "currency", currency, minimumFractionDigits: exponent, maximumFractionDigits: exponent,
  }).format((amount < 0 ? "-" : "") + units);
}

// What a person types ("12.50", "1500") in minor units, or null when it is not an amount
// in this currency (more decimals than it has, a sign, grouping, or not a number at all).
function minorUnits(text, currency) {
  const exponent = config.currencyExponents[currency] ?? 0;
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!match || (match[2] || "").length > exponent) return null;
  const minor = Number(match[1] + (match[2] || "").padEnd(exponent, "0"));
  return Number.isSafeInteger(minor) && minor > 0 ? minor : null;
}

// --- building the page from data ---------------------------------------------------------

function element(tag, ...content) {
  const node = document.createElement(tag);
  node.append(...content.filter((part) => part !== null && part !== undefined));
  return node;
}

function code(text) { return text ? element("code", text) : ""; }

function button(label, onClick, className) {
  const node = element("button", label);
  node.type = "button";
  if (className) node.className = className;
  node.addEventListener("click", onClick);
  return node;
}

function statusText(status) {
  const node = element("span", status || "");
  node.className = "status status-" + status;
  return node;
}

function orderLink(orderId) {
  const link = element("a", element("code", orderId));
  link.href = "#" + new URLSearchParams({ order: orderId });
  return link;
}

// A row of a list table; each cell carries its column's name for the phone-width layout.
function listRow(table, values) {
  const labels = [...$(table).querySelectorAll("thead th")];
  const cells = values.map((value, n) => {
    const cell = element("td", value);
    cell.dataset.label = labels[n].textContent;
    if (labels[n].classList.contains("amount")) cell.className = "amount";
    return cell;
  });
  return element("tr", ...cells);
}

function facts(table, pairs) {
  const rows = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([label, value]) => element("tr", element("th", label), element("td", value)));
  $(table).querySelector("tbody").replaceChildren(...rows);
}

function fill(table, rows) { $(table).querySelector("tbody").replaceChildren(...rows); }

for (const status of config.orderStatuses) $("status").append(new Option(status, status));
for (const provider of config.providers) $("q-provider").append(new Option(provider, provider));

// --- the order search, a page at a time ----------------------------------------------------

const PAGE_SIZE = 25;
// cursors[n] fetches page n (null: the first); "Older" goes one further, "Newer" one back.
// `fragment` is the search as the address names it, so a search can be linked to and
// reloaded; null until the first search.
const listing = { filters: null, fragment: null, cursors: [null], page: 0, next: null };
// The search form's boxes by their name in the fragment (`order` there opens an order).
const SEARCH_BOXES = {
  orderId: "q-order", customer: "q-customer", gatewayRef: "q-gateway", status: "status",
  provider: "q-provider", from: "q-from", to: "q-to",
};

// A day in the date boxes is a day of the browser's time zone, sent as an RFC 3339
// instant: "from" its first moment, "until" the first moment of the day after (exclusive).
function dayStart(value, plusDays) {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day + plusDays).toISOString();
}

function searchFilters() {
  const filters = new URLSearchParams();
  const text = { order: "q-order", customer: "q-customer", gatewayRef: "q-gateway" };
  for (const [name, id] of Object.entries(text)) if ($(id).value.trim()) filters.set(name, $(id).value.trim());
  if ($("status").value) filters.set("status", $("status").value);
  if ($("q-provider").value) filters.set("provider", $("q-provider").value);
  if ($("q-from").value) filters.set("createdFrom", dayStart($("q-from").value, 0));
  if ($("q-to").value) filters.set("createdTo", dayStart($("q-to").value, 1));
  return filters;
}

function orderRow(order) {
  const payment = order.payment ? `${order.payment.status} (${order.payment.provider})` : "";
  const tr = listRow("orders", [orderLink(order.orderId), order.customerId, statusText(order.status),
                                payment, money(order.amount, order.currency), order.createdAt]);
  tr.dataset.orderId = order.orderId;
  return tr;
}

async function showPage(page) {
  showError(null);
  const params = new URLSearchParams(listing.filters);
  params.set("limit", String(PAGE_SIZE));
  if (listing.cursors[page]) params.set("cursor", listing.cursors[page]);
  $("load").disabled = true;
  try {
    const found = await get("/admin/orders?" + params);
    listing.page = page;
    listing.next = found.nextCursor;
    fill("orders", found.items.map(orderRow));
    $("list-note").textContent = found.items.length ? "" : "No order matches.";
    $("page-number").textContent = page || found.nextCursor ? `Page ${page + 1}` : "";
  } catch (error) {
    // No rows under an error: they would read as the answer to the search that failed.
    fill("orders", []);
    $("list-note").textContent = "";
    showError(error);
  } finally {
    $("load").disabled = false;
    $("newer").disabled = listing.page === 0;
    $("more").disabled = !listing.next;
  }
}

function formFragment() {
  const fragment = new URLSearchParams();
  for (const [name, id] of Object.entries(SEARCH_BOXES)) if ($(id).value.trim()) fragment.set(name, $(id).value.trim());
  return String(fragment);
}

function search() {
  listing.filters = searchFilters();
  listing.fragment = formFragment();
  listing.cursors = [null];
  for (const link of ["nav-orders", "back"]) $(link).href = "#" + listing.fragment;
  showPage(0);
}

// The search the address names: its boxes filled in, and run unless it is on screen.
function showSearch(wanted) {
  const fragment = new URLSearchParams();
  for (const name of Object.keys(SEARCH_BOXES)) if (wanted.get(name)) fragment.set(name, wanted.get(name));
  if (listing.fragment === String(fragment) || !$("token").value) return;
  for (const [name, id] of Object.entries(SEARCH_BOXES)) $(id).value = fragment.get(name) || "";
  search();
}

// A search goes through the address (so Back, reload and a shared link show it again).
function submitSearch() {
  const next = formFragment();
  if (next === location.hash.slice(1)) search(); else location.hash = next;
}

$("search").addEventListener("submit", (event) => { event.preventDefault(); submitSearch(); });
$("clear").addEventListener("click", () => { $("search").reset(); submitSearch(); });
$("more").addEventListener("click", () => {
  listing.cursors[listing.page + 1] = listing.next;
  showPage(listing.page + 1);
});
$("newer").addEventListener("click", () => showPage(Math.max(0, listing.page - 1)));

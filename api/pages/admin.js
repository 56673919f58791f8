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
$("token").addEventListener("change", () => sessionStorage.setItem("adminToken", $("token").value.trim()));

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
for (const kind of config.reviewKinds) $("review-kind").append(new Option(kind, kind));

// --- the order search, a page at a time ----------------------------------------------------

const PAGE_SIZE = 25;
// cursors[n] fetches page n (null: the first); "Older" goes one further, "Newer" one back.
const listing = { filters: null, cursors: [null], page: 0, next: null };

// A day in the date boxes is a day of the browser's time zone, sent as an RFC 3339
// instant: "from" its first moment, "until" the first moment of the day after (exclusive).
function dayStart(value, plusDays) {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day + plusDays).toISOString();
}

function searchFilters() {
  const filters = new URLSearchParams();
  const text = { orderId: "q-order", customerId: "q-customer", gatewayId: "q-gateway" };
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
  } catch (error) { showError(error); }
  finally {
    $("load").disabled = false;
    $("newer").disabled = listing.page === 0;
    $("more").disabled = !listing.next;
  }
}

function search() {
  listing.filters = searchFilters();
  listing.cursors = [null];
  showPage(0);
}

$("search").addEventListener("submit", (event) => { event.preventDefault(); search(); });
$("clear").addEventListener("click", () => { $("search").reset(); search(); });
$("more").addEventListener("click", () => {
  listing.cursors[listing.page + 1] = listing.next;
  showPage(listing.page + 1);
});
$("newer").addEventListener("click", () => showPage(Math.max(0, listing.page - 1)));

// --- one order: what it is, its payment, refunds, timeline, and what can be done ----------

const OWN_CAPTURE = new Set(config.ownCaptureRefundKinds);
const REFUNDABLE = new Set(["succeeded", "partially_refunded"]);
let current = null;  // the order on screen: {orderId, order, payment, refunds, left}
let shown = 0;  // answers for an order no longer on screen are dropped

// What the console believes is still refundable; the engine decides (409 if it is less).
function leftToRefund(payment, refunds) {
  if (!payment || !REFUNDABLE.has(payment.status)) return 0;
  const promised = refunds.filter((r) => r.status === "pending" && OWN_CAPTURE.has(r.kind))
    .reduce((sum, r) => sum + r.amount, 0);
  return Math.max(0, payment.amount - payment.refundedAmount - promised);
}

function showSummary(order, customerId, payment) {
  const refunded = payment ? money(payment.refundedAmount, order.currency) : "";
  facts("summary", [
    ["Status", statusText(order.status)], ["Customer", customerId], ["Amount", money(order.amount, order.currency)],
    ["Refunded", refunded], ["Left to refund", money(current.left, order.currency)],
    ["Placed", order.createdAt], ["Updated", order.updatedAt],
  ]);
  fill("lines", order.lines.map((line) => listRow("lines", [
    line.sku, line.vendorId, String(line.quantity), money(line.unitAmount, order.currency),
    money(line.unitAmount * line.quantity, order.currency),
  ])));
}

function showPayment(payment) {
  if (!payment) { facts("payment", [["Payment", "none found"]]); return; }
  const disputes = payment.disputes.map((d) => `${d.status}: ${money(d.amount, d.currency)} (${d.reason || "no reason"})`);
  facts("payment", [
    ["Status", statusText(payment.status)], ["Provider", payment.provider], ["Payment id", code(payment.paymentId)],
    ["Provider's order", code(payment.gatewayOrderId)], ["Provider's payment", code(payment.gatewayPaymentId)],
    ["Amount", money(payment.amount, payment.currency)], ["Failure reason", payment.failureReason],
    ["Disputes", disputes.join("; ")], ["Updated", payment.updatedAt],
  ]);
}

function refundRow(refund, currency) {
  const tr = listRow("refunds", [
    code(refund.refundId), money(refund.amount, refund.currency || currency), statusText(refund.status), refund.kind,
    refund.reason || "", refund.actor, refund.failureReason || "", refund.requestedAt, code(refund.gatewayRefundId),
  ]);
  tr.dataset.refundId = refund.refundId;
  return tr;
}

function showRefunds(refunds, currency) {
  fill("refunds", refunds.map((refund) => refundRow(refund, currency)));
  $("refunds-note").textContent = refunds.length ? "" : "No refunds.";
}

function entryRow(entry) {
  const evidence = element("td", ...entry.evidence.map((digest) => element("code", digest)));
  const tr = listRow("timeline", [entry.time, entry.actor, entry.name,
                                  entry.version === null ? "" : String(entry.version), entry.summary, ""]);
  evidence.className = "evidence";
  evidence.dataset.label = "Evidence";
  tr.lastChild.replaceWith(evidence);
  return tr;
}

function stateRows(state) {
  const rows = [];
  const add = (label, value) => rows.push([label, value]);
  const order = state.order;
  add("Order", order.status);
  add("Amount", money(order.amount, order.currency));
  add("Refunded", money(order.refundedTotal, order.currency));
  add("Cancel reason", order.cancelReason);
  add("Order version", `${order.version}, updated ${order.updatedAt}`);
  const payment = state.payment;
  if (!payment) { add("Payment", "none yet"); return rows; }
  add("Payment", `${payment.status} (${payment.provider})`);
  add("Captured", money(payment.capturedAmount, payment.currency));
  add("Payment refunded", money(payment.refundedAmount, payment.currency));
  add("Failure reason", payment.failureReason);
  add("Payment version", `${payment.version}, updated ${payment.updatedAt}`);
  return rows;
}

function showState(state) {
  const table = $("state");
  if (!state) { $("state-note").textContent = ""; table.hidden = true; return; }
  if (!state.existed) {
    $("state-note").textContent = `At ${state.at} the order did not exist yet.`;
    table.hidden = true;
    return;
  }
  $("state-note").textContent = `At ${state.at}:`;
  facts("state", stateRows(state));
  table.hidden = false;
}

async function showTimeline(orderId, at, request) {
  const params = new URLSearchParams(at ? { at } : {});
  try {
    const found = await get(`/admin/orders/${orderPath(orderId)}/history?${params}`);
    if (request !== shown) return;
    fill("timeline", found.entries.map(entryRow));
    showState(found.state);
  } catch (error) {
    if (request !== shown) return;
    fill("timeline", []);
    showState(null);
    showError(error);
  }
}

// The order, its payment and refunds, read together; `minPosition` makes the listing
// (where the customer id comes from) reflect a write this page just made.
async function loadOrder(orderId, request, minPosition) {
  const listed = new URLSearchParams({ orderId, limit: "1" });
  if (minPosition) listed.set("minPosition", minPosition);
  const [order, payment, refunds, admin] = await Promise.allSettled([
    get(`/orders/${orderPath(orderId)}`), get(`/orders/${orderPath(orderId)}/payments`),
    get(`/admin/orders/${orderPath(orderId)}/refunds`), get("/admin/orders?" + listed),
  ]);
  if (request !== shown) return false;
  if (order.status === "rejected") { showError(order.reason); return false; }
  const items = refunds.status === "fulfilled" ? refunds.value.items : [];
  const paid = payment.status === "fulfilled" ? payment.value : null;
  const customer = admin.status === "fulfilled" && admin.value.items[0] ? admin.value.items[0].customerId : "";
  current = { orderId, order: order.value, payment: paid, refunds: items, left: leftToRefund(paid, items) };
  showSummary(order.value, customer, paid);
  showPayment(paid);
  showRefunds(items, order.value.currency);
  showActions();
  for (const part of [payment, refunds]) if (part.status === "rejected") showError(part.reason);
  return true;
}

// --- actions: each shows only when the API offers it and the order allows it -------------
// Another action (capture, void) is one more entry here with its own panel in #actions.

const ACTIONS = [
  {
    operation: "requestRefund", panel: "refund-form", offered: (order) => order.left > 0,
    prepare: prepareRefund, update: describeRefundable,
  },
];

function showActions() {
  let any = false;
  for (const action of ACTIONS) {
    const offered = Boolean(config.operations[action.operation]) && current !== null && action.offered(current);
    const panel = $(action.panel);
    if (offered && panel.hidden) action.prepare(current);
    if (offered) action.update(current);
    panel.hidden = !offered;
    any = any || offered;
  }
  $("no-actions").hidden = any || !$("refund-confirm").hidden;
  if (!any) closeRefundConfirmation();
}

// --- the refund: amount, reason, a confirmation that says what goes back, then one POST ---

// One Idempotency-Key per refund intended (order, amount, reason): sending it again after
// no answer, or a double click, reuses the key, so the engine refunds once. The key is
// forgotten once the engine has decided (an answer other than "try again").
const refundKeys = new Map();
let pendingRefund = null;  // what the confirmation shows and "Confirm refund" sends
const refundSignature = (refund) => `${refund.orderId}|${refund.amount}|${refund.reason}`;

function prepareRefund(order) {
  $("refund-amount").value = "";
  $("refund-reason").value = "";
  $("refund-amount-hint").textContent = `in ${order.order.currency}; empty for all that is left`;
}

function describeRefundable(order) {
  const currency = order.order.currency;
  $("refund-left").textContent = `Left to refund: ${money(order.left, currency)} of ${money(order.payment.amount, currency)} paid.`;
}

function setRefundForm(enabled) {
  for (const id of ["refund-amount", "refund-reason", "refund-review"]) $(id).disabled = !enabled;
}

// What is left is read again first: the confirmation states what the engine holds now.
async function reviewRefund(event) {
  event.preventDefault();
  showError(null);
  showNotice("");
  const request = shown;
  $("refund-review").disabled = true;
  const read = await loadOrder(current.orderId, request);
  $("refund-review").disabled = false;
  if (!read || request !== shown) return;
  const order = current;
  if (!order.left) { showError("Nothing is left to refund on this order any more."); return; }
  const currency = order.order.currency;
  const typed = $("refund-amount").value.trim();
  const reason = $("refund-reason").value.trim();
  const exponent = config.currencyExponents[currency] ?? 0;
  // Never an amount-less refund: the console sends what the person confirmed, so one that
  // landed in between makes the engine refuse (409) rather than refund something else.
  const amount = typed ? minorUnits(typed, currency) : order.left;
  if (amount === null) {
    showError(`Not an amount in ${currency}: "${typed}" (a positive number with at most ${exponent} decimals).`);
    $("refund-amount").focus();
    return;
  }
  if (amount > order.left) {
    showError(`${money(amount, currency)} is more than is left to refund (${money(order.left, currency)}).`);
    $("refund-amount").focus();
    return;
  }
  if (!reason) { showError("A refund needs a reason."); $("refund-reason").focus(); return; }
  pendingRefund = { orderId: order.orderId, amount, reason, currency };
  const full = amount === order.left;
  $("refund-summary").textContent = full
    ? `Full refund of ${money(amount, currency)}`
    : `Refund ${money(amount, currency)} of ${money(order.left, currency)} left to refund`;
  const unanswered = [...refundKeys.keys()].filter((a) => a.startsWith(order.orderId + "|") && a !== refundSignature(pendingRefund));
  $("refund-detail").textContent = `Reason: ${reason}. Left to refund afterwards: ${money(order.left - amount, currency)}. `
    + "The provider is asked once; its answer or webhook settles the refund."
    + (unanswered.length ? " An earlier refund of this order got no answer: check the refunds below before asking for another." : "");
  setRefundForm(false);
  $("refund-confirm").hidden = false;
  $("no-actions").hidden = true;
  $("refund-send").disabled = false;
  $("refund-send").focus();
}

function closeRefundConfirmation() {
  pendingRefund = null;
  $("refund-confirm").hidden = true;
  setRefundForm(true);
}

async function sendRefund() {
  const intended = pendingRefund;
  if (!intended) return;
  const attempt = refundSignature(intended);
  if (!refundKeys.has(attempt)) refundKeys.set(attempt, crypto.randomUUID());
  $("refund-send").disabled = true;
  $("refund-cancel").disabled = true;
  $("refund-send").textContent = "Sending…";
  showError(null);
  try {
    const answer = await api("POST", `/admin/orders/${orderPath(intended.orderId)}/refunds`,
                             { amount: intended.amount, reason: intended.reason },
                             { "Idempotency-Key": refundKeys.get(attempt) });
    refundKeys.delete(attempt);
    closeRefundConfirmation();
    showNotice(`Refund ${answer.data.refundId} of ${money(answer.data.amount, intended.currency)} requested: `
               + "pending until the provider answers.");
    if (current && current.orderId === intended.orderId) {
      const request = shown;
      await Promise.all([loadOrder(intended.orderId, request, answer.position),
                         showTimeline(intended.orderId, $("at").value.trim(), request)]);
      followRefund(intended.orderId, answer.data.refundId, request);
    }
  } catch (error) {
    const message = error.retryable
      ? `${error.message}\nNothing was decided: "Confirm refund" sends the same request again.` : error.message;
    if (!error.retryable) {
      // The engine decided: forget the key, and show the order as it now stands.
      refundKeys.delete(attempt);
      closeRefundConfirmation();
      if (current && current.orderId === intended.orderId) await loadOrder(intended.orderId, shown);
    }
    showError(message);
  } finally {
    $("refund-send").disabled = false;
    $("refund-cancel").disabled = false;
    $("refund-send").textContent = "Confirm refund";
  }
}

// The provider settles a refund later: re-read the order until it is no longer pending.
async function followRefund(orderId, refundId, request, delay = 500) {
  await new Promise((resolve) => setTimeout(resolve, delay));
  if (request !== shown) return;
  if (!await loadOrder(orderId, request)) return;
  const refund = current.refunds.find((r) => r.refundId === refundId);
  if (refund && refund.status === "pending" && delay < 8000) {
    followRefund(orderId, refundId, request, delay * 1.5);
  } else if (refund && refund.status !== "pending") {
    await showTimeline(orderId, $("at").value.trim(), request);
    showNotice(`Refund ${refundId} ${refund.status}` + (refund.failureReason ? `: ${refund.failureReason}` : "."));
  }
}

$("refund-form").addEventListener("submit", reviewRefund);
$("refund-send").addEventListener("click", sendRefund);
$("refund-cancel").addEventListener("click", () => { closeRefundConfirmation(); showActions(); $("refund-amount").focus(); });
$("refund-confirm").addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("refund-cancel").disabled) $("refund-cancel").click();
});

// --- capture reviews ----------------------------------------------------------------------

function reviewRow(review) {
  const refund = review.refundId ? `${review.refundStatus || ""} ${review.refundId}` : "a person decides";
  return listRow("review-list", [
    review.recordedAt, review.kind, review.provider, code(review.gatewayPaymentId),
    money(review.amount, review.currency), review.orderId ? orderLink(review.orderId) : "", review.detail, refund,
  ]);
}

async function showReviews() {
  showError(null);
  const params = new URLSearchParams({ limit: "100" });
  if ($("review-kind").value) params.set("kind", $("review-kind").value);
  try {
    fill("review-list", (await get("/admin/reviews?" + params)).items.map(reviewRow));
  } catch (error) { showError(error); }
}
$("review-search").addEventListener("submit", (event) => { event.preventDefault(); showReviews(); });

// --- which view the fragment names ----------------------------------------------------------

async function route() {
  const wanted = new URLSearchParams(location.hash.slice(1));
  const orderId = wanted.get("order");
  const view = orderId ? "detail" : wanted.get("view") === "reviews" ? "reviews" : "list";
  const request = ++shown;
  $("list").hidden = view !== "list";
  $("detail").hidden = view !== "detail";
  $("reviews").hidden = view !== "reviews";
  for (const [link, active] of [["nav-orders", view !== "reviews"], ["nav-reviews", view === "reviews"]]) {
    if (active) $(link).setAttribute("aria-current", "page"); else $(link).removeAttribute("aria-current");
  }
  if (view === "list" && listing.filters === null && $("token").value) search();
  if (view === "reviews") showReviews();
  if (view !== "detail") { current = null; return; }
  showError(null);
  if (!current || current.orderId !== orderId) {
    current = null;
    showNotice("");
    closeRefundConfirmation();
    for (const table of ["summary", "lines", "payment", "refunds", "timeline"]) fill(table, []);
    for (const action of ACTIONS) $(action.panel).hidden = true;
  }
  $("detail-id").textContent = orderId;
  $("at").value = wanted.get("at") || "";
  await Promise.all([loadOrder(orderId, request), showTimeline(orderId, wanted.get("at") || "", request)]);
}

function chooseInstant() {
  const wanted = new URLSearchParams(location.hash.slice(1));
  const at = $("at").value.trim();
  if (at) wanted.set("at", at); else wanted.delete("at");
  const next = "#" + wanted;
  // The same instant again is a refresh: no hashchange would fire for it.
  if (location.hash === next) route(); else location.hash = next;
}

$("show-state").addEventListener("click", chooseInstant);
$("at").addEventListener("keydown", (event) => { if (event.key === "Enter") chooseInstant(); });
window.addEventListener("hashchange", route);
route();

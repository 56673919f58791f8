// The admin console, part two: one order (its lines, payment, refunds, timeline and the
// actions it allows) and its refund. Runs after admin.js, in the same inline script;
// admin_capture.js adds the capture and void, admin_views.js picks the view.

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
  return Math.max(0, captured(payment) - payment.refundedAmount - promised);
}

// What the provider took: less than the amount after a partial manual capture.
function captured(payment) { return payment.capturedAmount ?? payment.amount; }

// A payment's status as a person reads it, where the bare word would not say enough.
const PAYMENT_MEANINGS = { authorized: "Authorized, waiting for capture" };

function paymentStatus(payment) {
  const node = statusText(payment.status);
  const meaning = PAYMENT_MEANINGS[payment.status];
  return meaning ? element("span", node, ` (${meaning})`) : node;
}

function showSummary(order, customerId, payment) {
  const refunded = payment ? money(payment.refundedAmount, order.currency) : "";
  const held = payment && payment.status === "authorized"
    ? `${PAYMENT_MEANINGS.authorized}: ${money(payment.amount, payment.currency)} held by ${payment.provider}` : "";
  const took = payment && payment.capturedAmount !== null && payment.capturedAmount !== undefined
    ? money(payment.capturedAmount, payment.currency) : "";
  facts("summary", [
    ["Status", statusText(order.status)], ["Payment", held], ["Customer", customerId],
    ["Amount", money(order.amount, order.currency)], ["Captured", took],
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
  const took = payment.capturedAmount === null || payment.capturedAmount === undefined ? ""
    : money(payment.capturedAmount, payment.currency)
      + (payment.capturedAmount < payment.amount ? ` (${money(payment.amount - payment.capturedAmount, payment.currency)} released)` : "");
  facts("payment", [
    ["Status", paymentStatus(payment)], ["Provider", payment.provider], ["Payment id", code(payment.paymentId)],
    ["Provider's order", code(payment.gatewayOrderId)], ["Provider's payment", code(payment.gatewayPaymentId)],
    ["Amount", money(payment.amount, payment.currency)], ["Captured", took], ["Failure reason", payment.failureReason],
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
  const listed = new URLSearchParams({ order: orderId, limit: "1" });
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
  // Without the refunds, what is promised to pending ones is unknown: offer no refund.
  const left = refunds.status === "fulfilled" ? leftToRefund(paid, items) : 0;
  current = { orderId, order: order.value, payment: paid, refunds: items, left };
  showSummary(order.value, customer, paid);
  showPayment(paid);
  showRefunds(items, order.value.currency);
  showActions();
  for (const part of [payment, refunds]) if (part.status === "rejected") showError(part.reason);
  return true;
}

// --- actions: each shows only when the API offers it and the order allows it -------------
// Another action is one more entry here (admin_capture.js adds capture and void), with its
// form and its confirmation in #actions.

const ACTIONS = [
  {
    operation: "requestRefund", panel: "refund-form", confirm: "refund-confirm", offered: (order) => order.left > 0,
    prepare: prepareRefund, update: describeRefundable, close: () => closeRefundConfirmation(),
  },
];

function showActions() {
  let any = false;
  for (const action of ACTIONS) {
    const offered = Boolean(config.operations[action.operation]) && current !== null && action.offered(current);
    const panel = $(action.panel);
    if (offered && panel.hidden) action.prepare(current);
    if (offered) action.update(current);
    // A confirmation of what is no longer offered closes: it would send what cannot be.
    if (!offered && !$(action.confirm).hidden) action.close();
    panel.hidden = !offered;
    any = any || offered;
  }
  $("no-actions").hidden = any || ACTIONS.some((action) => !$(action.confirm).hidden);
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
    // Read once more, now that the settlement is known to be written: a single-order read
    // reflects every write answered before it began, so the order's status is current too.
    await Promise.all([loadOrder(orderId, request), showTimeline(orderId, $("at").value.trim(), request)]);
    showNotice(`Refund ${refundId} ${refund.status}` + (refund.failureReason ? `: ${refund.failureReason}` : "."));
  } else if (refund) {
    showNotice(`Refund ${refundId} is still pending at the provider: open the order again later to see how it ended.`);
  }
}

$("refund-form").addEventListener("submit", reviewRefund);
$("refund-send").addEventListener("click", sendRefund);
$("refund-cancel").addEventListener("click", () => { closeRefundConfirmation(); showActions(); $("refund-amount").focus(); });
$("refund-confirm").addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("refund-cancel").disabled) $("refund-cancel").click();
});

// The admin console, part three: capturing or voiding a manual-capture order's
// authorization (adr/0027), each with a confirmation that says where the money goes.

const isAuthorized = (order) => Boolean(order.payment) && order.payment.status === "authorized";
// Orders whose capture the engine accepted and this page follows: the payment stays
// `authorized` until the provider has captured, but nothing more can be done to it (the
// engine would refuse a second capture or a void as under way).
const capturing = new Set();
const mayCapture = (order) => isAuthorized(order) && !capturing.has(order.orderId);
let pendingCapture = null;  // what the capture confirmation shows and "Confirm capture" sends
let pendingVoid = null;

ACTIONS.push(
  {
    operation: "captureOrder", panel: "capture-form", confirm: "capture-confirm", offered: mayCapture,
    prepare: prepareCapture, update: describeHeld, close: () => closeConfirmation("capture"),
  },
  {
    operation: "voidOrder", panel: "void-form", confirm: "void-confirm", offered: mayCapture,
    prepare: () => { $("void-reason").value = ""; }, update: () => {}, close: () => closeConfirmation("void"),
  },
);

function prepareCapture(order) {
  $("capture-amount").value = "";
  $("capture-reason").value = "";
  const whole = order.payment.provider === "razorpay" ? "; Razorpay captures only the whole" : "";
  $("capture-amount-hint").textContent = `in ${order.order.currency}; empty for the whole authorization${whole}`;
}

function describeHeld(order) {
  const payment = order.payment;
  $("capture-held").textContent = `${money(payment.amount, payment.currency)} authorized at ${payment.provider}, not captured yet.`;
}

const FORMS = {
  capture: ["capture-amount", "capture-reason", "capture-review"],
  void: ["void-reason", "void-review"],
};

function closeConfirmation(kind) {
  if (kind === "capture") pendingCapture = null; else pendingVoid = null;
  $(`${kind}-confirm`).hidden = true;
  for (const id of FORMS[kind]) $(id).disabled = false;
}

function openConfirmation(kind, summary, detail) {
  // One confirmation at a time: two open would read as one decision.
  for (const action of ACTIONS) if (action.confirm !== `${kind}-confirm` && !$(action.confirm).hidden) action.close();
  $(`${kind}-summary`).textContent = summary;
  $(`${kind}-detail`).textContent = detail;
  for (const id of FORMS[kind]) $(id).disabled = true;
  $(`${kind}-confirm`).hidden = false;
  $("no-actions").hidden = true;
  $(`${kind}-send`).disabled = false;
  $(`${kind}-send`).focus();
}

// The order is read again first: the confirmation states what the engine holds now.
async function reread(reviewButton) {
  showError(null);
  showNotice("");
  const request = shown;
  $(reviewButton).disabled = true;
  const read = await loadOrder(current.orderId, request);
  $(reviewButton).disabled = false;
  if (!read || request !== shown) return null;
  if (!isAuthorized(current)) { showError("The payment is no longer authorized: see its status above."); return null; }
  return current;
}

async function reviewCapture(event) {
  event.preventDefault();
  const order = await reread("capture-review");
  if (!order) return;
  const { amount: held, currency, provider } = order.payment;
  const typed = $("capture-amount").value.trim();
  const reason = $("capture-reason").value.trim();
  const amount = typed ? minorUnits(typed, currency) : held;
  const refuse = (message, box) => { showError(message); $(box).focus(); };
  if (amount === null) {
    const exponent = config.currencyExponents[currency] ?? 0;
    return refuse(`Not an amount in ${currency}: "${typed}" (a positive number with at most ${exponent} decimals).`, "capture-amount");
  }
  if (amount > held) return refuse(`${money(amount, currency)} is more than is authorized (${money(held, currency)}).`, "capture-amount");
  if (amount < held && provider === "razorpay") {
    return refuse(`Razorpay captures only the whole authorization (${money(held, currency)}): leave the amount empty.`, "capture-amount");
  }
  if (!reason) return refuse("A capture needs a reason.", "capture-reason");
  // Always the amount: what the person confirmed is what is sent.
  pendingCapture = { orderId: order.orderId, amount, held, reason, currency };
  const released = held - amount;
  const summary = released
    ? `Capture ${money(amount, currency)} of ${money(held, currency)} authorized; ${money(released, currency)} is released to the customer`
    : `Capture the whole ${money(held, currency)} authorized`;
  openConfirmation("capture", summary, `Reason: ${reason}. The provider (${provider}) is asked once; the order is `
    + "confirmed when it has captured. Nothing more can be captured afterwards.");
}

async function reviewVoid(event) {
  event.preventDefault();
  const order = await reread("void-review");
  if (!order) return;
  const reason = $("void-reason").value.trim();
  if (!reason) { showError("A void needs a reason."); $("void-reason").focus(); return; }
  const { amount, currency, provider } = order.payment;
  pendingVoid = { orderId: order.orderId, reason };
  openConfirmation("void", `Release the ${money(amount, currency)} authorization and cancel the order`,
    `Reason: ${reason}. The customer is not charged, the order's stock is released, and the provider `
    + `(${provider}) is asked to release the hold. This cannot be undone.`);
}

// Sends a confirmed capture or void; answers the engine's answer, or null when it failed
// (shown, and the order read again when the engine decided).
async function sendConfirmed(kind, intended, path, body, label) {
  const send = $(`${kind}-send`);
  send.disabled = true;
  $(`${kind}-cancel`).disabled = true;
  send.textContent = "Sending…";
  showError(null);
  try {
    const intent = `${kind}|${intended.orderId}|${JSON.stringify(body)}`;
    const answer = await command(intent, path, body);
    closeConfirmation(kind);
    return answer;
  } catch (error) {
    if (!error.retryable) {
      closeConfirmation(kind);
      if (current && current.orderId === intended.orderId) await loadOrder(intended.orderId, shown);
    }
    showError(commandFailure(error, label));
    return null;
  } finally {
    send.disabled = false;
    $(`${kind}-cancel`).disabled = false;
    send.textContent = label;
  }
}

async function sendCapture() {
  const intended = pendingCapture;
  if (!intended) return;
  const path = `/admin/orders/${orderPath(intended.orderId)}/capture`;
  const answer = await sendConfirmed("capture", intended, path, { amount: intended.amount, reason: intended.reason }, "Confirm capture");
  if (!answer) return;
  showNotice(`Capture of ${money(answer.data.amount, intended.currency)} requested: waiting for the provider to capture it.`);
  capturing.add(intended.orderId);
  if (current && current.orderId === intended.orderId) { showActions(); followCapture(intended, answer.data.amount, shown); }
}

// The worker asks the provider; the order is confirmed when its answer or webhook lands.
// Done when the order is confirmed and the payment says what was captured (the two views
// are read together, but either may be the one that is behind).
async function followCapture(intended, amount, request, delay = 300) {
  await pause(delay);
  // Not followed any more (another view, or the order unreadable): the next look at the
  // order offers what its payment allows, and the engine refuses what is under way.
  if (request !== shown || !await loadOrder(intended.orderId, request)) { capturing.delete(intended.orderId); return; }
  const payment = current.payment;
  const settled = current.order.status === "PAYMENT_CONFIRMED" && payment && payment.capturedAmount != null;
  if (settled) {
    capturing.delete(intended.orderId);
    await showTimeline(intended.orderId, $("at").value.trim(), request);
    const took = captured(current.payment);
    showNotice(`Captured ${money(took, intended.currency)}: the order is PAYMENT_CONFIRMED`
               + (took < intended.held ? `; ${money(intended.held - took, intended.currency)} released.` : "."));
  } else if (delay < 8000) {
    followCapture(intended, amount, request, delay * 1.5);
  } else {
    // What happens next is the engine's: the actions show again, and it refuses (409) what
    // it cannot do while the capture is under way.
    capturing.delete(intended.orderId);
    showActions();
    showNotice(`The capture of ${money(amount, intended.currency)} is still with the provider: open the order again later.`);
  }
}

async function sendVoid() {
  const intended = pendingVoid;
  if (!intended) return;
  const path = `/admin/orders/${orderPath(intended.orderId)}/void`;
  const answer = await sendConfirmed("void", intended, path, { reason: intended.reason }, "Confirm void");
  if (!answer) return;
  showNotice(`Authorization released: the order is ${answer.data.status}.`);
  if (current && current.orderId === intended.orderId) {
    const request = shown;
    await Promise.all([loadOrder(intended.orderId, request, answer.position),
                       showTimeline(intended.orderId, $("at").value.trim(), request)]);
  }
}

for (const [kind, review, send] of [["capture", reviewCapture, sendCapture], ["void", reviewVoid, sendVoid]]) {
  $(`${kind}-form`).addEventListener("submit", review);
  $(`${kind}-send`).addEventListener("click", send);
  $(`${kind}-cancel`).addEventListener("click", () => {
    closeConfirmation(kind);
    showActions();
    $(FORMS[kind][0]).focus();
  });
  $(`${kind}-confirm`).addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$(`${kind}-cancel`).disabled) $(`${kind}-cancel`).click();
  });
}

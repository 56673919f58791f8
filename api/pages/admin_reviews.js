// The admin console, part four: capture reviews (what reconciliation and the webhooks found
// that paid for no order, or disagrees with it), a person's resolution of an open one,
// and the reconciliation runs (adr/0028).

for (const kind of config.reviewKinds) $("review-kind").append(new Option(kind, kind));
for (const status of config.reviewStatuses) $("review-status").append(new Option(status, status));
$("review-status").value = "open";  // what waits for a person

let resolving = null;  // the review the resolution panel is about
let resolveOpener = null;  // its row's button, where the focus goes back on Cancel

function reviewOutcome(review) {
  const parts = [];
  if (review.repair) parts.push(`Repaired: ${review.repair}`);
  if (review.resolution) parts.push(`Resolved by ${review.resolvedBy || "unknown"}: ${review.resolution}`);
  if (review.resolvedAt) parts.push(`at ${review.resolvedAt}`);
  return parts.join(" ");
}

function reviewRow(review) {
  const refund = review.refundId ? `${review.refundStatus || ""} ${review.refundId}`
    : review.kind === "foreign" ? "a person decides" : "";
  const offered = review.status === "open" && Boolean(config.operations.resolveReview);
  const action = offered
    ? button("Resolve", (event) => openResolution(review, event.currentTarget), "secondary") : "";
  if (action) action.setAttribute("aria-label", `Resolve the ${review.kind} review of ${review.gatewayPaymentId}`);
  const tr = listRow("review-list", [
    review.recordedAt, review.kind, review.provider, code(review.gatewayPaymentId),
    money(review.amount, review.currency), review.orderId ? orderLink(review.orderId) : "", review.detail, refund,
    statusText(review.status), reviewOutcome(review), action,
  ]);
  tr.dataset.reviewId = review.reviewId;
  return tr;
}

async function showReviews(minPosition) {
  const params = new URLSearchParams({ limit: "100" });
  if ($("review-kind").value) params.set("kind", $("review-kind").value);
  if ($("review-status").value) params.set("status", $("review-status").value);
  if (minPosition) params.set("minPosition", minPosition);
  $("review-show").disabled = true;
  try {
    const items = (await get("/admin/reviews?" + params)).items;
    fill("review-list", items.map(reviewRow));
    $("review-note").textContent = items.length ? "" : "No review matches.";
  } catch (error) {
    fill("review-list", []);
    $("review-note").textContent = "";
    showError(error);
  } finally { $("review-show").disabled = false; }
}

function openResolution(review, opener) {
  resolveOpener = opener;
  showError(null);
  showNotice("");
  resolving = review;
  const order = review.orderId ? ` of order ${review.orderId}` : "";
  $("resolve-summary").textContent = `Resolve the ${review.kind} review${order}: ${money(review.amount, review.currency)} at ${review.provider}`;
  $("resolve-detail").textContent = `${review.detail} Resolving records your decision on the payment; `
    + "the engine moves no money for it, and the review closes for good.";
  $("resolve-reason").value = "";
  $("resolve-form").hidden = false;
  $("resolve-send").disabled = false;
  $("resolve-reason").focus();
}

function closeResolution() {
  resolving = null;
  $("resolve-form").hidden = true;
}

async function sendResolution(event) {
  event.preventDefault();
  const review = resolving;
  if (!review) return;
  const reason = $("resolve-reason").value.trim();
  if (!reason) { showError("A resolution needs a reason."); $("resolve-reason").focus(); return; }
  showError(null);
  $("resolve-send").disabled = true;
  $("resolve-cancel").disabled = true;
  try {
    // No key: a resolution is recorded once, and asking again is the engine's 409.
    const answer = await api("POST", `/admin/reviews/${encodeURIComponent(review.reviewId)}/resolve`, { reason });
    closeResolution();
    showNotice(`Review resolved by ${answer.data.resolvedBy}: ${answer.data.resolution}`);
    await showReviews(answer.position);
  } catch (error) {
    if (!error.retryable) { closeResolution(); await showReviews(); }
    showError(error.retryable ? `${error.message}\nIt may have been recorded: "Confirm resolution" asks again (a second answer is 409).` : error.message);
  } finally {
    $("resolve-send").disabled = false;
    $("resolve-cancel").disabled = false;
  }
}

$("review-search").addEventListener("submit", (event) => { event.preventDefault(); showError(null); closeResolution(); showReviews(); });
$("resolve-form").addEventListener("submit", sendResolution);
function cancelResolution() {
  closeResolution();
  if (resolveOpener && resolveOpener.isConnected) resolveOpener.focus();
}
$("resolve-cancel").addEventListener("click", cancelResolution);
$("resolve-form").addEventListener("keydown", (event) => { if (event.key === "Escape" && !$("resolve-cancel").disabled) cancelResolution(); });

// --- reconciliation runs -------------------------------------------------------------------

function runRow(run) {
  const found = Object.entries(run.discrepancies).map(([kind, count]) => `${kind}: ${count}`).join(", ") || "none";
  return listRow("run-list", [
    run.startedAt, run.provider, `${run.windowStart} – ${run.windowEnd}`, statusText(run.status), String(run.compared),
    found, String(run.repairs), run.actor, run.error || "",
  ]);
}

async function showRuns() {
  if (!config.operations.listReconciliations) { $("runs-note").textContent = "This engine lists no reconciliation runs."; return; }
  try {
    const items = (await get("/admin/reconciliations")).items;
    fill("run-list", items.map(runRow));
    $("runs-note").textContent = items.length ? "" : "No reconciliation has run yet (checkout-engine reconcile).";
  } catch (error) { showError(error); }
}

function showReviewsView() {
  showError(null);
  showReviews();
  showRuns();
}

// The admin console, part five: parked webhooks (adr/0025). A provider event the engine
// stored but could not apply is listed with its raw body, replayed once its cause is fixed,
// or dismissed on record; each under its own Idempotency-Key, after a confirmation.

for (const status of config.webhookStatuses) $("webhook-status").append(new Option(status, status));
$("webhook-status").append(new Option("any", ""));
$("webhook-status").value = "failed";  // what waits for a person

// The next page; the confirmation's act; the row's button it was opened from (the focus
// goes back there on Cancel).
const webhooks = { cursor: null, pending: null, opener: null };
const ACTS = {
  replay: {
    operation: "replayWebhook", button: "Replay", confirm: "Confirm replay", reason: "Replay reason", hint: "optional; kept on record",
    summary: (w) => `Apply ${w.provider} ${w.eventType} ${w.eventId} again now`,
    detail: "Through the same code as a delivery: it ends processed, ignored, or failed again with its error.",
  },
  dismiss: {
    operation: "dismissWebhook", button: "Dismiss", confirm: "Confirm dismissal", reason: "Dismissal reason", hint: "required; kept on record",
    summary: (w) => `Never apply ${w.provider} ${w.eventType} ${w.eventId}`,
    detail: "The sweeper stops trying it and the engine never applies it. This cannot be undone.",
  },
};
const ACTIONABLE = new Set(["received", "failed"]);

function decision(label, made) { return made ? `${label} by ${made.by}${made.reason ? `: ${made.reason}` : ""} (${made.at})` : ""; }

function webhookRow(webhook) {
  const body = element("details", element("summary", `Raw body (${webhook.body.length} characters)`), element("pre", webhook.body));
  body.className = "body";
  const actions = element("div");
  actions.className = "buttons";
  if (ACTIONABLE.has(webhook.status)) {
    for (const [act, spec] of Object.entries(ACTS)) {
      if (!config.operations[spec.operation]) continue;
      const control = button(spec.button, (event) => openAct(act, webhook, event.currentTarget), act === "dismiss" ? "secondary" : "");
      control.setAttribute("aria-label", `${spec.button} ${webhook.eventType} ${webhook.eventId}`);
      actions.append(control);
    }
  }
  const outcome = [webhook.outcome, decision("Replayed", webhook.replayed), decision("Dismissed", webhook.dismissed)]
    .filter(Boolean).join(". ");
  const retry = webhook.status === "failed" ? (webhook.nextAttemptAt ? ` (retried at ${webhook.nextAttemptAt})` : " (parked)") : "";
  const tr = listRow("webhook-list", [
    webhook.receivedAt, webhook.provider, webhook.eventType, code(webhook.eventId),
    element("span", statusText(webhook.status), retry), String(webhook.attempts), webhook.error || "", outcome, body, actions,
  ]);
  tr.dataset.webhookId = String(webhook.webhookId);
  return tr;
}

async function showWebhooks(more) {
  const params = new URLSearchParams({ limit: "50" });
  if ($("webhook-status").value) params.set("status", $("webhook-status").value);
  if (more && webhooks.cursor) params.set("cursor", webhooks.cursor);
  $("webhook-show").disabled = true;
  try {
    const found = await get("/admin/webhooks?" + params);
    const rows = found.items.map(webhookRow);
    if (more) $("webhook-list").querySelector("tbody").append(...rows); else fill("webhook-list", rows);
    webhooks.cursor = found.nextCursor;
    $("webhook-more").hidden = !found.nextCursor;
    const none = !more && !found.items.length;
    $("webhook-note").textContent = none ? "No webhook matches." : "";
  } catch (error) {
    if (!more) fill("webhook-list", []);
    showError(error);
  } finally { $("webhook-show").disabled = false; }
}

function openAct(act, webhook, opener) {
  const spec = ACTS[act];
  webhooks.opener = opener;
  showError(null);
  showNotice("");
  webhooks.pending = { act, webhook };
  $("webhook-summary").textContent = spec.summary(webhook);
  $("webhook-detail").textContent = `${spec.detail} Attempts so far: ${webhook.attempts}.`
    + (webhook.error ? ` Last error: ${webhook.error}` : "");
  $("webhook-reason-label").textContent = spec.reason;
  $("webhook-reason-hint").textContent = spec.hint;
  $("webhook-reason").value = "";
  $("webhook-send").textContent = spec.confirm;
  $("webhook-form").hidden = false;
  $("webhook-send").disabled = false;
  $("webhook-reason").focus();
}

function closeAct() {
  webhooks.pending = null;
  $("webhook-form").hidden = true;
}

async function sendAct(event) {
  event.preventDefault();
  const pending = webhooks.pending;
  if (!pending) return;
  const { act, webhook } = pending;
  const spec = ACTS[act];
  const reason = $("webhook-reason").value.trim();
  if (act === "dismiss" && !reason) { showError("A dismissal needs a reason."); $("webhook-reason").focus(); return; }
  const body = reason ? { reason } : {};
  showError(null);
  $("webhook-send").disabled = true;
  $("webhook-cancel").disabled = true;
  $("webhook-send").textContent = "Sending…";
  try {
    const path = `/admin/webhooks/${encodeURIComponent(webhook.webhookId)}/${act}`;
    const answer = (await command(`${act}|${webhook.webhookId}|${reason}`, path, body)).data;
    closeAct();
    const said = answer.status === "failed" ? `failed again: ${answer.error}` : `${answer.status}${answer.outcome ? `: ${answer.outcome}` : "."}`;
    const report = `Webhook ${answer.eventId} (${answer.eventType}) ${said}`;
    if (answer.status === "failed") showError(report); else showNotice(report);
    await showWebhooks(false);
  } catch (error) {
    if (!error.retryable) { closeAct(); await showWebhooks(false); }
    showError(commandFailure(error, spec.confirm));
  } finally {
    $("webhook-send").disabled = false;
    $("webhook-cancel").disabled = false;
    if (webhooks.pending) $("webhook-send").textContent = spec.confirm;
  }
}

$("webhook-search").addEventListener("submit", (event) => { event.preventDefault(); showError(null); closeAct(); showWebhooks(false); });
$("webhook-more").addEventListener("click", () => showWebhooks(true));
$("webhook-form").addEventListener("submit", sendAct);
function cancelAct() {
  closeAct();
  if (webhooks.opener && webhooks.opener.isConnected) webhooks.opener.focus();
}
$("webhook-cancel").addEventListener("click", cancelAct);
$("webhook-form").addEventListener("keydown", (event) => { if (event.key === "Escape" && !$("webhook-cancel").disabled) cancelAct(); });

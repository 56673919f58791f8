// The admin console, last part: which view the fragment names (an order, the search, the
// reviews, the parked webhooks), and the instant the timeline shows the state at.

const VIEWS = { reviews: "nav-reviews", webhooks: "nav-webhooks" };
if (!config.operations.listWebhooks) $("nav-webhooks").parentElement.hidden = true;

async function route() {
  const wanted = new URLSearchParams(location.hash.slice(1));
  const orderId = wanted.get("order");
  const named = wanted.get("view");
  const view = orderId ? "detail" : Object.hasOwn(VIEWS, named) ? named : "list";
  const request = ++shown;
  for (const section of ["list", "detail", ...Object.keys(VIEWS)]) $(section).hidden = view !== section;
  const links = [["nav-orders", view === "list" || view === "detail"], ...Object.entries(VIEWS).map(([name, link]) => [link, view === name])];
  for (const [link, active] of links) {
    if (active) $(link).setAttribute("aria-current", "page"); else $(link).removeAttribute("aria-current");
  }
  if (view !== "reviews") closeResolution();
  if (view !== "webhooks") closeAct();
  if (view === "list") showSearch(wanted);
  if (view === "reviews") showReviewsView();
  if (view === "webhooks") { showError(null); showWebhooks(false); }
  if (view !== "detail") { current = null; return; }
  showError(null);
  if (!current || current.orderId !== orderId) {
    current = null;
    showNotice("");
    for (const action of ACTIONS) { action.close(); $(action.panel).hidden = true; }
    for (const table of ["summary", "lines", "payment", "refunds", "timeline"]) fill(table, []);
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

// A rule's delivery attempts, webhook and email: what was sent, and why nothing was.
import { formatTime, h } from "../dom.js";
import { pagedTable } from "../paged.js";

// The server's reasons for an email it did not send, as a person reads them.
const REASONS = {
  "daily email limit": "Not sent: you reached today's limit of alert emails.",
  "not sent: the email address is not verified":
    "Not sent: your email address is not verified. Follow the link in the message we sent.",
  "not sent: email is off for this rule": "Not sent: email is off for this rule.",
  "not sent: this server is not set up to send email": "Not sent: this server sends no email.",
  "cancelled: unsubscribed with the link in an email": "Not sent: you unsubscribed with the link in an email.",
  "cancelled: email was switched off for this rule": "Not sent: email was switched off for this rule.",
};

export function deliveriesTable(ruleId) {
  return pagedTable({
    title: "Deliveries",
    headers: ["Event", "Channel", "Attempt", "At", "Result", "Next attempt"],
    path: `/alerts/${ruleId}/deliveries`,
    empty: "No deliveries: the rule has no webhook or email, or nothing happened yet.",
    rows: (items) => items.map(deliveryRow),
  });
}

function deliveryRow(delivery) {
  return h(
    "tr",
    { dataset: { eventId: delivery.event_id, channel: delivery.channel }, class: delivery.superseded ? "superseded" : "" },
    h("td", {}, `#${delivery.event_id}`),
    h("td", {}, delivery.channel === "email" ? "Email" : "Webhook"),
    h("td", {}, delivery.attempt ? String(delivery.attempt) : "none"),
    h("td", {}, h("time", { datetime: delivery.at }, formatTime(delivery.at))),
    h("td", {}, resultText(delivery)),
    h("td", {}, delivery.next_attempt_at ? formatTime(delivery.next_attempt_at) : delivery.attempt ? "none (last attempt)" : "none"),
  );
}

/** What happened, in words: sent, refused, not sent (and why), superseded. */
export function resultText(delivery) {
  const email = delivery.channel === "email";
  let text;
  if (delivery.status_code != null) {
    const ok = delivery.status_code >= 200 && delivery.status_code < 300;
    if (email) text = ok ? `Sent (SMTP ${delivery.status_code})` : `Refused: SMTP ${delivery.error || delivery.status_code}`;
    else text = ok ? `Delivered (HTTP ${delivery.status_code})` : `HTTP ${delivery.status_code}`;
    if (email && delivery.status_code >= 500) text += "; permanent, not retried";
  } else if (delivery.superseded && delivery.attempt === 0) {
    return "Superseded: a newer event was recorded before this one was sent, so only the newer one goes out.";
  } else {
    text = REASONS[delivery.error] || delivery.error || "";
  }
  if (delivery.superseded) text += "; superseded by a newer event, not tried again";
  return text;
}

// Shared helpers of the console's views: DOM building (textContent only), notices, formats.
import { ApiError, token } from "./api.js";
import { currentLang, t } from "./i18n.js";

export const view = document.getElementById("view");

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function notice(text, error = false) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.className = error ? "error" : "";
  box.hidden = !text;
}

export function failed(error) {
  if (error instanceof ApiError && error.status === 401) notice(token() ? t("token.bad") : t("token.needed"), true);
  else if (error instanceof ApiError && error.status === 403) notice(t("forbidden"), true);
  else notice(`${t("failed")}: ${error.message}`, true);
}

// Event times in the treasury's own clock (Beijing), whatever offset the API wrote them with.
const BEIJING = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
export const time = (iso) => (iso ? BEIJING.format(new Date(iso)) : "");
export const msg = (m) => (m && typeof m === "object" ? (currentLang() === "en" ? m.en : m.zh) : m);
export const sevBadge = (s) => h("span", { class: `sev sev-${s}` }, t(`severity.${s}`));

export const listOf = (body, key) => (Array.isArray(body) ? body : body?.[key] ?? body?.items ?? []);

export function lookup(label, placeholder, route, value) {
  return h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); location.hash = `#/${route}/${encodeURIComponent(new FormData(e.target).get("id").trim())}`; } },
    label, h("input", { name: "id", size: 28, value: value || "", placeholder }), h("button", { type: "submit" }, t("payment.look")));
}


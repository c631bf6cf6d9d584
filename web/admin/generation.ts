/** How the dashboard shows a generation type: its units, its colour (charts, icons) and its icon. */
import type { GenerationType } from "@credit-backend/client/admin";

export const UNITS: Record<GenerationType, [one: string, many: string]> = {
  image: ["image", "images"],
  video: ["second", "seconds"],
  voice: ["minute", "minutes"],
  chat: ["token", "tokens"],
};

export const TYPE_COLORS: Record<GenerationType, string> = { image: "#3056d3", video: "#8e44ad", voice: "#1f8a4c", chat: "#d98a00" };

const ICON_PATHS: Record<GenerationType, string> = {
  // a framed picture, a film frame with a play mark, a microphone, a speech bubble
  image: "M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4 M15.5 9.5a1.5 1.5 0 1 0 .01 0",
  video: "M3 6h13v12H3z M16 10l5-3v10l-5-3 M8 9.5v5l4-2.5z",
  voice: "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z M6 11a6 6 0 0 0 12 0 M12 17v4 M9 21h6",
  chat: "M4 5h16v11H9l-5 4z M8 9h8 M8 12h5",
};

/** The type's icon (inline SVG: no icon font, no emoji font needed). */
export function typeIcon(type: GenerationType | null): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon ${type ?? "unknown"}`);
  svg.setAttribute("aria-label", type ?? "unknown type");
  svg.setAttribute("role", "img");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", type ? ICON_PATHS[type] : "M12 3a9 9 0 1 0 .01 0");
  svg.append(path);
  if (type) svg.style.color = TYPE_COLORS[type];
  return svg;
}

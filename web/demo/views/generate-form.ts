/**
 * "New generation": the form (type, quantity, prompt), the cost preview of what it asks for,
 * and the Generate button ("Try again" after a lost answer, off while the preview refuses).
 */
import type { GenerationType } from "@credit-backend/client";
import { $, fmtCredits, fmtInt, fmtNum, h } from "../../shared/kit";
import type { Generation } from "../generation";
import { account, isSuspended, previewKey, setForm, update, type GenerationForm, type State } from "../state";
import { fieldMessage, UNITS, unitOf } from "../ui";
import { rateLimitNote, upgradePrompt } from "./problem";

const INTEGER_TYPES: ReadonlySet<GenerationType> = new Set(["image", "chat"]);
const DEFAULT_QUANTITY: Record<GenerationType, string> = { image: "1", video: "4", voice: "1", chat: "1000" };

export function mountGenerateForm(generation: Generation): void {
  const typeSelect = $<HTMLSelectElement>("type");
  const quantityInput = $<HTMLInputElement>("quantity");
  const promptInput = $<HTMLTextAreaElement>("prompt");
  const read = (): GenerationForm => ({ type: typeSelect.value as GenerationType, quantity: Number(quantityInput.value), prompt: promptInput.value });
  setForm(read());

  typeSelect.addEventListener("change", () => {
    const type = typeSelect.value as GenerationType;
    quantityInput.step = INTEGER_TYPES.has(type) ? "1" : "any";
    quantityInput.value = DEFAULT_QUANTITY[type];
    setForm(read());
    update({ preview: null, problem: null });
    generation.schedulePreview(0);
  });
  quantityInput.addEventListener("input", () => {
    setForm(read());
    update({ preview: null });
    generation.schedulePreview();
  });
  promptInput.addEventListener("input", () => setForm(read()));
  $("generate-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void generation.generate();
  });
}

export function renderGenerateForm(s: Readonly<State>): void {
  $("unit").textContent = UNITS[s.form.type][1];
  renderPreview(s);
  const preview = s.preview;
  const blocked = !preview || !preview.allowed || s.waitSeconds !== null || isSuspended(s);
  const button = $<HTMLButtonElement>("generate");
  button.disabled = s.busy || blocked;
  button.textContent = s.busy ? "Generating…" : s.retryRequestId ? "Try again" : "Generate";
}

function renderPreview(s: Readonly<State>): void {
  const box = $("preview");
  box.className = "preview";
  const p = s.preview;
  if (s.previewError) {
    const e = s.previewError;
    box.textContent = e.reason === "invalid_request" ? fieldMessage(e.errors) : "The cost cannot be worked out right now.";
    box.classList.add("bad");
    return;
  }
  if (!p || s.previewFor !== previewKey(s.form)) {
    box.textContent = "Working out the cost…";
    return;
  }
  const { type, quantity } = s.form;
  const { credits } = account(s);
  const unitCost = s.status?.costs?.[type];
  const how =
    unitCost !== undefined
      ? ` (${fmtNum(quantity)} ${unitOf(type, quantity)} × ${unitCost} credit${Number(unitCost) === 1 ? "" : "s"}${Number.isInteger(quantity * Number(unitCost)) ? "" : ", rounded up"})`
      : "";
  box.replaceChildren("This costs ", h("strong", { testid: "preview-cost", text: fmtCredits(p.cost) }), `${how}. `);
  if (p.allowed && credits !== undefined) box.append(`You will have ${fmtInt(credits - p.cost)} left.`);
  if (!p.allowed) {
    box.classList.add("bad");
    if (p.reason === "insufficient_credits") box.append(upgradePrompt(p.cost, credits ?? 0));
    else if (p.reason === "rate_limited") box.append(rateLimitNote(s, null));
    else if (p.reason === "account_suspended") box.append("Generation is off while the account is suspended.");
    else if (p.reason === "ip_blocked") box.append("Requests from your network are blocked.");
  }
}


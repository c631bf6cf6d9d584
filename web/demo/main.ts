/**
 * The demo app: sign in, live balance, a cost preview before generating, a generation
 * followed from pending to its end, and every refusal shown as a person would want it.
 *
 * This page renders state and calls the client library; it never talks to Firebase itself.
 * The state is one object (state.ts); account.ts and generation.ts fill it from the backend;
 * the views (views/) show it and turn clicks into calls. This file only wires them together.
 */
import { connectBackend } from "../shared/backend";
import { $ } from "../shared/kit";
import { watchAccount } from "./account";
import { createGeneration } from "./generation";
import { getState, onChange, type State } from "./state";
import { mountActivity, renderActivity, renderRecent } from "./views/activity";
import { renderCreditsCard } from "./views/credits-card";
import { mountGenerateForm, renderGenerateForm } from "./views/generate-form";
import { renderHeader } from "./views/header";
import { renderNotices } from "./views/notices";
import { renderProblem } from "./views/problem";
import { mountShop, renderShop } from "./views/shop";
import { mountSignIn } from "./views/sign-in";

const { session, emulated, projectId } = connectBackend();
const generation = createGeneration(session.client);

function render(s: Readonly<State>): void {
  const signedIn = s.uid !== null;
  $("signed-out").hidden = signedIn;
  $("signed-in").hidden = !signedIn;
  $("who").hidden = !signedIn;
  if (!signedIn) return;
  renderHeader(s);
  renderNotices(s);
  renderCreditsCard(s);
  renderGenerateForm(s);
  renderProblem(s);
  renderActivity(s);
  renderRecent(s);
}

onChange("page", render);
onChange("shop", renderShop);
mountSignIn(session);
mountGenerateForm(generation);
mountActivity(generation);
mountShop(session.client);
watchAccount(session, generation);

$("env").textContent = emulated ? `Emulator Suite · project ${projectId}` : `Project ${projectId}`;
render(getState());

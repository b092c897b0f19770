// Browser end-to-end checks for voxray's built-in client, run by tests/browser.rs.
// Real headless Debian chromium (never a downloaded browser) driven by playwright-core.
//
//   node run.mjs client '{"base":"http://127.0.0.1:P","key":"…","token":"vxw1.…","wav":"/abs.wav"}'
//   node run.mjs parrot '{"base":"http://127.0.0.1:P","wav":"/abs.wav"}'
//   node run.mjs cors   '{"api":"http://127.0.0.1:P","listed":"http://127.0.0.1:A/","unlisted":"http://127.0.0.1:B/"}'
//
// Prints one JSON object with what it observed; the Rust test makes the assertions.
import { chromium } from "playwright-core";

const [mode, raw] = process.argv.slice(2);
const args = JSON.parse(raw);

const flags = [
  "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
];
if (args.wav) flags.push(`--use-file-for-fake-audio-capture=${args.wav}`);

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: flags });
const out = {};
try {
  if (mode === "client") {
    for (const transport of ["webrtc", "websocket"]) {
      out[transport] = await talk(`${args.base}/`, transport, args.key);
    }
    if (args.token) out.token = await talk(`${args.base}/#token=${args.token}`, "websocket", null);
  } else if (mode === "parrot") {
    for (const transport of ["webrtc", "websocket"]) {
      out[transport] = await parrot(`${args.base}/`, transport);
    }
  } else if (mode === "cors") {
    out.listed = await callStart(args.listed, args.api);
    out.unlisted = await callStart(args.unlisted, args.api);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));

/// Load the page, connect over `transport` (typing the key if the page asks), wait for bot
/// audio to reach the page's AnalyserNode, disconnect.
async function talk(url, transport, key) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  await page.goto(url);
  const result = { transport };
  result.levelBefore = await page.evaluate(() => window.voxray.botLevel());
  await page.selectOption("#transport", transport);
  const t0 = Date.now();
  await page.click("#connect");
  if (key) {
    await page.waitForSelector("#keybox", { state: "visible", timeout: 10000 });
    result.askedForKey = true;
    await page.fill("#key", key);
    await page.click("#usekey");
  }
  try {
    await page.waitForFunction(() => window.voxray.state === "connected", null, { timeout: 15000 });
    result.connectedMs = Date.now() - t0;
    await page.waitForFunction(() => window.voxray.maxLevel > 0.01, null, { timeout: 15000 });
    result.firstAudioMs = Date.now() - t0;
    await page.waitForTimeout(1000);
  } catch (e) {
    result.error = String(e.message || e).split("\n")[0];
  }
  result.state = await page.evaluate(() => window.voxray.state);
  result.maxLevel = await page.evaluate(() => window.voxray.maxLevel);
  result.events = await page.evaluate(() => window.voxray.events);
  result.log = await page.evaluate(() => document.getElementById("log").innerText);
  result.consoleErrors = consoleErrors;
  await page.evaluate(() => window.voxray.disconnect());
  await context.close();
  return result;
}

/// Load the page, choose the parrot pipeline, connect over `transport` and speak (the fake
/// microphone plays the WAV): record the bot level while the user speaks (parrot is silent
/// then; echo would not be) and when the played-back turn arrives.
async function parrot(url, transport) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  await page.goto(url);
  const result = { transport };
  await page.selectOption("#transport", transport);
  await page.selectOption("#pipeline", "parrot");
  const t0 = Date.now();
  await page.click("#connect");
  try {
    await page.waitForFunction(() => window.voxray.state === "connected", null, { timeout: 15000 });
    result.connectedMs = Date.now() - t0;
    await page.waitForFunction(() => window.voxray.events.includes("user-stopped-speaking"), null, { timeout: 20000 });
    result.userStoppedMs = Date.now() - t0;
    // The page notes the level when each event arrived (its meter samples every 50 ms).
    result.levelWhileSpeaking = await page.evaluate(() => window.voxray.levelAt["user-stopped-speaking"]);
    await page.waitForFunction(() => window.voxray.events.includes("bot-started-speaking") && window.voxray.maxLevel > 0.01,
      null, { timeout: 15000 });
    result.botAudioMs = Date.now() - t0;
    await page.waitForTimeout(500);
  } catch (e) {
    result.error = String(e.message || e).split("\n")[0];
  }
  result.maxLevel = await page.evaluate(() => window.voxray.maxLevel);
  result.events = await page.evaluate(() => window.voxray.events);
  result.log = await page.evaluate(() => document.getElementById("log").innerText);
  result.consoleErrors = consoleErrors;
  await page.evaluate(() => window.voxray.disconnect());
  await context.close();
  return result;
}

/// From a page of another origin, call voxray's POST /start with fetch.
async function callStart(pageUrl, api) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(pageUrl);
  const r = await page.evaluate(async (api) => {
    try {
      const res = await fetch(`${api}/start`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
      const body = await res.json();
      return { ok: true, status: res.status, sessionId: body.sessionId || null };
    } catch (e) {
      return { ok: false, error: String(e) };
    }
  }, api);
  r.origin = new URL(pageUrl).origin;
  await context.close();
  return r;
}

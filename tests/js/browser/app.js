// A page of another site using @sentry/browser as documented, with the DSN from ?dsn=.
// It captures a message, leaves a promise rejection unhandled and throws an uncaught
// error; window.reported is set once the SDK has sent all three.
import * as Sentry from "@sentry/browser";

const dsn = new URLSearchParams(location.search).get("dsn");
const sent = []; // what beforeSend saw: "<exception type>/<message>" per event
window.sent = sent; // for the test's report when something is missing
Sentry.init({
  dsn,
  release: "browser-sdk-test@1.0.0",
  environment: "test",
  // With it captureMessage also sends the stack, as a synthetic exception without a type.
  attachStacktrace: true,
  beforeSend(event) {
    sent.push(`${event.exception?.values?.[0]?.type || ""}/${event.message || ""}`);
    return event;
  },
});

class CartError extends Error {
  constructor(message) {
    super(message);
    this.name = "CartError";
  }
}

function renderCart(cart) {
  return cart.items.length;
}

async function loadCart() {
  await new Promise((resolve) => setTimeout(resolve, 10));
  throw new CartError("cart service answered 503");
}

function warnEmptyCart() {
  Sentry.captureMessage("checkout opened without a cart", "info");
}

warnEmptyCart();
loadCart(); // nobody awaits it: an unhandled rejection

// The uncaught TypeError only once the rejection is reported: the SDK ignores global
// errors for a moment after rethrowing one from a wrapped timer callback, so the two
// at once would race.
let thrown = false;
const steps = setInterval(async () => {
  if (!thrown && sent.length === 2) {
    thrown = true;
    setTimeout(() => renderCart(undefined), 0);
  }
  if (sent.length < 3) return;
  clearInterval(steps);
  await Sentry.flush(5000);
  window.reported = sent;
  document.getElementById("status").textContent = "reported";
}, 50);

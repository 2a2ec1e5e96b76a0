// An application using @sentry/node as documented, reporting into the DSN given as the
// first argument: a caught-and-captured error, a captured message, an unhandled promise
// rejection, then an uncaught exception (which the SDK reports, flushes, and exits 1 on).
import * as Sentry from "@sentry/node";

const dsn = process.argv[2];
Sentry.init({
  dsn,
  release: "node-sdk-test@1.0.0",
  environment: "test",
  // Report a rejection without also exiting, so the uncaught exception below still runs.
  integrations: [Sentry.onUnhandledRejectionIntegration({ mode: "warn" })],
});

class InventoryError extends Error {
  constructor(message) {
    super(message);
    this.name = "InventoryError";
  }
}

class PaymentTimeout extends Error {
  constructor(message) {
    super(message);
    this.name = "PaymentTimeout";
  }
}

function reserveStock(sku) {
  throw new InventoryError(`no stock left for ${sku}`);
}

function placeOrder(sku) {
  try {
    reserveStock(sku);
  } catch (error) {
    Sentry.captureException(error);
  }
}

async function chargeCard(orderId) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  throw new PaymentTimeout(`gateway did not answer for order ${orderId}`);
}

function applyDiscount(cart) {
  return cart.total * 0.9;
}

placeOrder("SKU-1234");
Sentry.captureMessage("nightly stock sync finished with warnings", "warning");
chargeCard(981); // nobody awaits it: an unhandled rejection
await new Promise((resolve) => setTimeout(resolve, 300));
await Sentry.flush(10000);
setTimeout(() => applyDiscount(undefined), 0); // TypeError, uncaught

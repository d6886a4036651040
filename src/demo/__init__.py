"""The demo shop: a deterministic catalog (`catalog`), a season of past orders, refunds,
searches and views (`history`), and the judged queries graded over that catalog
(`judgments`). `storefront up` and the load-demo commands write it; tests and benches
use it as their shop."""

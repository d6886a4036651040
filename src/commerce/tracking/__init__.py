"""Events shoppers' clients send (views, clicks, funnel steps), for the warehouse."""

"""The WeCom (企业微信) self-built app adapter: callback routes, crypto, API client, messenger."""

"""The WeCom (企业微信) customer-contact channel: callback, API client, contact sync."""

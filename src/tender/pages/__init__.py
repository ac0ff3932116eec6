"""The pages people read in a browser: server-rendered Jinja2 templates, in English or Hong
Kong Chinese, with their own stylesheet and a little script, all served by the platform itself
(no CDN: it works on a network with no internet).

Rendered from the services, as the API is; public pages need no sign-in.
"""

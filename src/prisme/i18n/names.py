"""The names the analyses store, in the reader's language.

The warehouse keeps English public names: the RFM segments (``at risk``…, see
:mod:`prisme.analytics.rfm`) and the behavioural clusters' labels (phrases joined by ", ",
see :meth:`prisme.analytics.clusters.BehaviourClusters.describe_cluster`). Pages, reports
and exports say them with :func:`segment_name` and :func:`cluster_label_name`.
"""

from __future__ import annotations

#: French names of the RFM segments (the data keep the English public names)
SEGMENT_FR = {
    "champions": "champions", "loyal": "fidèles", "potential loyalist": "fidèles en devenir",
    "new": "nouveaux", "promising": "prometteurs", "need attention": "à surveiller",
    "about to sleep": "en sommeil proche", "at risk": "à risque",
    "cannot lose them": "à ne pas perdre", "hibernating": "en hibernation", "lost": "perdus",
}

#: French words of the cluster labels (the data keep the English label): the phrases of
#: ``prisme.analytics.clusters.PHRASES``, the leads ("one-time buyers"…) and the default
PHRASES_FR = {
    "long since last purchase": "dernier achat ancien", "bought recently": "achat récent",
    "frequent buyers": "achètent souvent", "rare buyers": "achètent rarement",
    "high spend": "dépensent beaucoup", "low spend": "dépensent peu",
    "high margin": "forte marge", "low margin": "faible marge",
    "long-standing customers": "clients de longue date", "recent customers": "clients récents",
    "many returns": "retournent souvent", "few returns": "retournent peu",
    "active on the web": "actifs sur le web", "rarely on the web": "peu présents sur le web",
    "call often": "appellent souvent", "seldom call": "appellent peu",
    "one-time buyers": "un seul achat", "mostly one-time buyers": "surtout un seul achat",
    "average customers": "clients moyens",
}
#: how a channel is said after "acheteurs" / "achètent peu" (other channels: their name)
CHANNELS_FR = {"web": "en ligne", "store": "en magasin", "phone": "par téléphone",
               "email": "par e-mail", "post": "par courrier", "mobile": "sur mobile"}


def segment_name(name, lang: str = "en") -> str:
    """A segment's name for a reader of ``lang`` (``en``, ``fr``); the data keep the
    English public name."""
    return SEGMENT_FR.get(str(name), str(name)) if lang == "fr" else str(name)


def cluster_label_name(label, lang: str = "en") -> str:
    """A cluster's label for a reader of ``lang``: each phrase in French for ``fr`` (a
    phrase it does not know stays as is)."""
    if label is None:
        return "—"
    text = str(label)
    if lang != "fr":
        return text
    suffix = ""
    if text.endswith(")") and " (" in text:  # "… (2)": the second cluster of that name
        text, _, rest = text.rpartition(" (")
        suffix = f" ({rest}"

    def phrase(p: str) -> str:
        if p in PHRASES_FR:
            return PHRASES_FR[p]
        if p.endswith(" buyers"):
            ch = p[:-len(" buyers")]
            return f"acheteurs {CHANNELS_FR.get(ch, ch)}"
        if p.startswith("rarely buy "):
            ch = p[len("rarely buy "):]
            return f"achètent peu {CHANNELS_FR.get(ch, ch)}"
        if p.startswith("buy "):
            return f"achètent {p[4:]}"
        if p.startswith("little "):
            return f"peu de {p[7:]}"
        return p

    return ", ".join(phrase(p) for p in text.split(", ")) + suffix

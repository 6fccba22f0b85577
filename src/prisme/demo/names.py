"""Name, street and town pools of the demo company (French and British customers).

The pools are small on purpose (a few hundred names): real customer lists are full of
namesakes, and identity resolution must tell two "Jean Martin" apart by their other fields.
Names are drawn with Zipf-like weights so that common names are common.
"""

from __future__ import annotations

FR_MALE = """Jean Pierre Michel André Philippe René Louis Alain Jacques Bernard Marcel Daniel Roger
Robert Paul Claude Christian Henri Georges Nicolas François Patrick Gérard Christophe Joseph
Julien Antoine Frédéric Éric Laurent Stéphane Pascal David Sébastien Thomas Olivier Alexandre
Maxime Guillaume Vincent Lucas Hugo Théo Mathieu Raphaël Benoît Jérôme Yves Thierry Bruno Denis
Emmanuel Arnaud Cédric Fabrice Gilles Hervé Jean-Pierre Jean-Luc Jean-Marc Jean-Claude Léo
Gabriel Arthur Louis-Marie Noël Hélios Benjamin Quentin Romain Clément Damien Jérémy Xavier
Yannick Loïc Grégoire Adrien Baptiste Étienne Félix Victor Martin Simon Rémi Gaël""".split()

FR_FEMALE = """Marie Jeanne Françoise Monique Catherine Nathalie Isabelle Sylvie Anne Martine
Nicole Christine Sophie Valérie Sandrine Céline Stéphanie Véronique Chantal Hélène Brigitte
Julie Aurélie Émilie Camille Laura Manon Chloé Léa Emma Inès Sarah Pauline Claire Élodie
Caroline Virginie Laurence Patricia Dominique Jacqueline Simone Danielle Odile Agnès Béatrice
Bénédicte Geneviève Mireille Josiane Colette Lucie Mathilde Margaux Océane Justine Anaïs
Charlotte Juliette Zoé Louise Alice Jade Clémence Marine Cécile Florence Delphine Karine
Marie-Claire Marie-Hélène Anne-Sophie Marie-Thérèse Gaëlle Maëlle Noémie Solène Ophélie
Léonie Rose Agathe Héloïse Adèle Lina""".split()

UK_MALE = """James John Robert Michael William David Richard Thomas Christopher Daniel Matthew
Anthony Mark Paul Steven Andrew Joshua Kevin Brian George Edward Ronald Timothy Jason Jeffrey
Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Benjamin Samuel Gregory
Alexander Patrick Jack Dennis Peter Harry Oliver Charlie Alfie Freddie Archie Henry Leo Oscar
Theo Arthur Noah Liam Callum Connor Declan Rhys Owen Gareth Alistair Hamish Neil Graham
Stuart Ian Colin""".split()

UK_FEMALE = """Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy
Margaret Sandra Ashley Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca Sharon
Laura Cynthia Kathleen Amy Angela Helen Anna Brenda Pamela Emma Nicola Olivia Amelia Isla Ava
Mia Poppy Sophie Grace Lily Freya Ella Chloe Charlotte Evie Jessica Ruby Holly Megan Lauren
Bethany Hannah Rachel Zoe Fiona Kirsty Gemma Siobhan Catherine Joanne Alison Gillian
Heather""".split()

FR_LAST = """Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel
Lefèbvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau
Vincent Müller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand
Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu Gautier Masson
Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun Blanchard Giraud Joly
Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche Renard Schmitt Roy Leroux
Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix Olivier Philippe Bourgeois
Pierre Benoît Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte Lopez Jean Dupuy Guillot
Hubert Berger Carpentier Sanchez Dupuis Moulin Louis Deschamps Huet Vasseur Perez Boucher Fleury
Royer Klein Jacquet Adam Paris Poirier Marty Aubry Guyot Carré Charles Renault Charpentier
Ménard Maillard Baron Bertin Bailly Hervé Schneider Fernandez Le Gall Collet Léger Bouvier
Julien Prévost Millet Perrot Daniel Le Roux Cousin Germain Breton Besson Langlois Rémy Le Goff
Pelletier Lévêque Perrier Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier
Michaud Rodriguez Guichard Gillet Étienne Grondin Poulain Tessier Chevallier Collin Chauvin
Da Silva Bouchet Gay Lemaître Bénard Maréchal Humbert Reynaud Antoine Hoarau Perret Barthélemy
Cordier Pichon Lejeune Gilbert Lamy Delaunay Pasquier Carlier Laporte Cœurdevey Lefort
Courtois Desjardins Lagarde Texier Marais Bégué Delorme Tanguy Béranger Kervella Quéré""".split()

UK_LAST = """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood
Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James
Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter
Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson
Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain
Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher
Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard
Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole
Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant
Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe
Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson
Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson
MacDonald McLean O'Neill""".split()

#: names made of two words ("Le Gall", "Da Silva"): glue back what the split cut
for _i, _n in enumerate(FR_LAST):
    if _n in ("Le", "Da"):
        FR_LAST[_i] = _n + " " + FR_LAST[_i + 1]
        FR_LAST[_i + 1] = ""
FR_LAST = [n for n in FR_LAST if n]

FR_STREET_TYPES = ["rue", "avenue", "boulevard", "place", "impasse", "allée", "chemin", "quai"]
FR_STREETS = """de la République|Victor Hugo|Jean Jaurès|de l'Église|du Général de Gaulle|Pasteur|
de la Gare|des Écoles|du Moulin|de la Paix|Gambetta|Voltaire|des Lilas|du Château|Jules Ferry|
de Verdun|Carnot|du Sacré-Cœur|des Acacias|Émile Zola|de la Fontaine|des Tilleuls|Saint-Michel|
du Stade|de Bretagne|Anatole France|de la Liberté|des Peupliers|Georges Clemenceau|du Port|
Foch|de Strasbourg|des Érables|du Maréchal Leclerc|de Provence|de la Forêt|Molière|Louis Pasteur|
des Prés|Sainte-Anne""".replace("\n", "").split("|")

#: (city, postcode, branch): each town is served by the branch named last
FR_TOWNS = [
    ("Paris", "75011", "Paris Bastille"), ("Paris", "75015", "Paris Montparnasse"),
    ("Paris", "75018", "Paris Bastille"), ("Boulogne-Billancourt", "92100", "Paris Montparnasse"),
    ("Montreuil", "93100", "Paris Bastille"), ("Versailles", "78000", "Paris Montparnasse"),
    ("Lyon", "69003", "Lyon Part-Dieu"), ("Villeurbanne", "69100", "Lyon Part-Dieu"),
    ("Marseille", "13008", "Marseille Prado"), ("Aix-en-Provence", "13100", "Marseille Prado"),
    ("Toulouse", "31000", "Toulouse Capitole"), ("Montauban", "82000", "Toulouse Capitole"),
    ("Bordeaux", "33000", "Bordeaux Mériadeck"), ("Mérignac", "33700", "Bordeaux Mériadeck"),
    ("Nantes", "44000", "Nantes Commerce"), ("Saint-Nazaire", "44600", "Nantes Commerce"),
    ("Lille", "59000", "Lille Euralille"), ("Roubaix", "59100", "Lille Euralille"),
    ("Strasbourg", "67000", "Strasbourg Kléber"), ("Colmar", "68000", "Strasbourg Kléber"),
    ("Rennes", "35000", "Rennes Colombier"), ("Brest", "29200", "Rennes Colombier"),
    ("Nice", "06000", "Nice Masséna"), ("Antibes", "06600", "Nice Masséna"),
    ("Besançon", "25000", "Lyon Part-Dieu"), ("Saint-Étienne", "42000", "Lyon Part-Dieu"),
    ("Orléans", "45000", "Paris Montparnasse"), ("Évry-Courcouronnes", "91000", "Paris Bastille"),
]

UK_STREET_TYPES = ["Road", "Street", "Lane", "Avenue", "Close", "Gardens", "Drive", "Way"]
UK_STREETS = """High|Station|Church|Park|Victoria|Green|Manor|Mill|Queens|Kings|Grange|
Springfield|New|Windsor|Albert|Richmond|York|Chester|Orchard|Mount Pleasant|Highfield|
Meadow|Westfield|The Crescent|Brook|Elm|Oak|Beech|Cedar|Holly""".replace("\n", "").split("|")

#: (town, postcode outward code, branch)
UK_TOWNS = [
    ("London", "SW1A", "London Oxford Street"), ("London", "N1", "London Oxford Street"),
    ("London", "SE15", "London Oxford Street"), ("Croydon", "CR0", "London Oxford Street"),
    ("Manchester", "M1", "Manchester Arndale"), ("Salford", "M5", "Manchester Arndale"),
    ("Stockport", "SK1", "Manchester Arndale"), ("Edinburgh", "EH1", "Edinburgh Princes Street"),
    ("Glasgow", "G2", "Edinburgh Princes Street"), ("Leeds", "LS1", "Manchester Arndale"),
    ("Brighton", "BN1", "London Oxford Street"), ("Oxford", "OX1", "London Oxford Street"),
]

FR_EMAIL_DOMAINS = ["gmail.com", "orange.fr", "hotmail.fr", "free.fr", "yahoo.fr", "sfr.fr",
                    "laposte.net", "wanadoo.fr", "outlook.fr", "icloud.com"]
UK_EMAIL_DOMAINS = ["gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com",
                    "icloud.com", "sky.com", "live.co.uk"]

#: first name → a short form some systems hold instead (the same person)
NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Richard": "Rick", "James": "Jim", "Michael": "Mike",
    "Thomas": "Tom", "Anthony": "Tony", "Andrew": "Andy", "David": "Dave", "Daniel": "Dan",
    "Joseph": "Joe", "Christopher": "Chris", "Matthew": "Matt", "Nicholas": "Nick",
    "Elizabeth": "Liz", "Margaret": "Maggie", "Rebecca": "Becky", "Jennifer": "Jenny",
    "Catherine": "Cathy", "Samuel": "Sam", "Benjamin": "Ben", "Alexander": "Alex",
    "Jean-Pierre": "J-Pierre", "Jean-Claude": "J-Claude", "Marie-Claire": "M-Claire",
    "Alexandre": "Alex", "Nicolas": "Nico", "Frédéric": "Fred", "Christophe": "Chris",
    "Dominique": "Domi", "Stéphanie": "Steph", "Mathieu": "Matt",
}

#: advisors' first names by branch region (a few per branch)
ADVISOR_NAMES = ["Amélie Roche", "Karim Benali", "Sophie Marchand", "Lucas Perrin", "Inès Haddad",
                 "Thomas Giraud", "Chloé Morel", "Hugo Lambert", "Nadia Bensaïd", "Julien Faure",
                 "Emma Clarke", "Oliver Grant", "Priya Shah", "Callum Reid", "Hannah Moore",
                 "Yasmine Ait", "Pierre Colin", "Léa Fontaine", "Marc Dubreuil", "Anaïs Royer"]

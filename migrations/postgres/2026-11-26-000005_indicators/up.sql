-- The indicator catalogue, seeded with a base set a CAF would recognise.
CREATE TABLE indicators (
    code TEXT PRIMARY KEY NOT NULL,
    label TEXT NOT NULL,
    description TEXT,
    unit TEXT NOT NULL CHECK (unit IN ('count', 'percent', 'places_per_100_children', 'cents', 'hours', 'ratio')),
    -- Whether a higher value is better (progress towards a target is read in this direction).
    ascending BOOLEAN NOT NULL,
    field TEXT CHECK (field IN ('petite_enfance', 'enfance', 'jeunesse', 'parentalite', 'animation_vie_sociale',
        'acces_aux_droits', 'logement', 'handicap', 'inclusion_numerique', 'accompagnement_social')),
    source TEXT NOT NULL,
    geo_level TEXT NOT NULL CHECK (geo_level IN ('commune', 'epci', 'department')),
    periodicity TEXT NOT NULL CHECK (periodicity IN ('annual', 'quarterly', 'one_off')),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

INSERT INTO indicators (code, label, description, unit, ascending, field, source, geo_level, periodicity, version, created_at, updated_at) VALUES
('taux_couverture_eaje_epci', 'Taux de couverture global en accueil du jeune enfant (EPCI)',
 'Places d''accueil formel pour 100 enfants de moins de 3 ans, au 31 décembre de l''année', 'places_per_100_children', TRUE, 'petite_enfance', 'ONAPE / Cnaf', 'epci', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('taux_couverture_eaje_commune', 'Taux de couverture global en accueil du jeune enfant (commune)',
 'Publié pour les communes de plus de 10 000 habitants', 'places_per_100_children', TRUE, 'petite_enfance', 'ONAPE / Cnaf', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('taux_couverture_eaje_departement', 'Taux de couverture global en accueil du jeune enfant (département)',
 NULL, 'places_per_100_children', TRUE, 'petite_enfance', 'ONAPE / Cnaf', 'department', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('places_eaje', 'Places en établissements d''accueil du jeune enfant', NULL, 'count', TRUE, 'petite_enfance', 'Cnaf', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('places_assistants_maternels', 'Places offertes par les assistants maternels', NULL, 'count', TRUE, 'petite_enfance', 'Ircem / Cnaf', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('places_prescolarisation', 'Places en préscolarisation des enfants de 2 ans', NULL, 'count', TRUE, 'petite_enfance', 'Éducation nationale', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('places_garde_domicile', 'Enfants gardés à domicile par un salarié', NULL, 'count', TRUE, 'petite_enfance', 'Acoss / Cnaf', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('enfants_0_2', 'Enfants de 0 à 2 ans', NULL, 'count', TRUE, 'petite_enfance', 'Insee, recensement', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('enfants_3_5', 'Enfants de 3 à 5 ans', NULL, 'count', TRUE, 'enfance', 'Insee, recensement', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('enfants_6_11', 'Enfants de 6 à 11 ans', NULL, 'count', TRUE, 'enfance', 'Insee, recensement', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('enfants_12_17', 'Jeunes de 12 à 17 ans', NULL, 'count', TRUE, 'jeunesse', 'Insee, recensement', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('foyers_allocataires', 'Foyers allocataires', NULL, 'count', TRUE, 'acces_aux_droits', 'Cnaf, fichier FILEAS', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('taux_occupation_eaje', 'Taux d''occupation des EAJE', NULL, 'percent', TRUE, 'petite_enfance', 'Cnaf', 'commune', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('heures_activite_alsh', 'Heures d''activité des accueils de loisirs', NULL, 'hours', TRUE, 'enfance', 'Cnaf', 'commune', 'quarterly', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('comites_pilotage_tenus', 'Comités de pilotage de la CTG tenus', 'Suivi qualitatif : nombre de COPIL réunis dans l''année', 'count', TRUE, NULL, 'Rapport du comité de pilotage', 'epci', 'annual', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00'),
('diagnostic_partage_realise', 'Diagnostic partagé réalisé', 'Suivi qualitatif : 1 si réalisé, 0 sinon', 'ratio', TRUE, NULL, 'Rapport du comité de pilotage', 'epci', 'one_off', 1, '2026-11-26 00:00:00', '2026-11-26 00:00:00');

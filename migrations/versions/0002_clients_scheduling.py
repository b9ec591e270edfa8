"""clients and scheduling: clients, care team, rooms, series, appointments, calendar feeds

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clients',
    sa.Column('practice_id', sa.Uuid(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('preferred_name', sa.String(length=100), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('primary_clinician_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('intake_date', sa.Date(), nullable=True),
    sa.Column('discharge_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name_search', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_clients_practice_id_practices')),
    sa.ForeignKeyConstraint(['primary_clinician_id'], ['users.id'], name=op.f('fk_clients_primary_clinician_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients'))
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index('ix_clients_practice_name', ['practice_id', 'last_name', 'first_name'], unique=False)
        batch_op.create_index('ix_clients_primary_clinician', ['primary_clinician_id', 'last_name'], unique=False)

    op.create_table('care_team_members',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_care_team_members_client_id_clients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_care_team_members_user_id_users')),
    sa.PrimaryKeyConstraint('client_id', 'user_id', name=op.f('pk_care_team_members'))
    )
    with op.batch_alter_table('care_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_team_members_user_id'), ['user_id'], unique=False)

    op.create_table('rooms',
    sa.Column('practice_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_rooms_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rooms')),
    sa.UniqueConstraint('practice_id', 'name', name=op.f('uq_rooms_practice_id'))
    )
    op.create_table('appointment_series',
    sa.Column('practice_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('clinician_id', sa.Uuid(), nullable=False),
    sa.Column('every_weeks', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_appointment_series_client_id_clients')),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_appointment_series_clinician_id_users')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_appointment_series_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_series'))
    )
    with op.batch_alter_table('appointment_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_series_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_series_practice_id'), ['practice_id'], unique=False)

    op.create_table('appointments',
    sa.Column('practice_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('clinician_id', sa.Uuid(), nullable=False),
    sa.Column('room_id', sa.Uuid(), nullable=True),
    sa.Column('series_id', sa.Uuid(), nullable=True),
    sa.Column('series_index', sa.Integer(), nullable=True),
    sa.Column('detached', sa.Boolean(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('modality', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cancelled_by', sa.String(length=16), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_appointments_ends_after_start')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_appointments_client_id_clients')),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_appointments_clinician_id_users')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_appointments_practice_id_practices')),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_appointments_room_id_rooms')),
    sa.ForeignKeyConstraint(['series_id'], ['appointment_series.id'], name=op.f('fk_appointments_series_id_appointment_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index('ix_appointments_client_starts', ['client_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_appointments_clinician_starts', ['clinician_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_appointments_practice_starts', ['practice_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_appointments_room_starts', ['room_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_appointments_series', ['series_id', 'series_index'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('clinician_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_calendar_feeds_clinician_id_users')),
    sa.PrimaryKeyConstraint('clinician_id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )

    if op.get_bind().dialect.name == "postgresql":
        # No two live appointments may overlap for one clinician, client or room, even
        # under concurrent requests. Ranges are half-open, so back-to-back is allowed.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for column in ("clinician_id", "client_id", "room_id"):
            op.execute(f"""
                ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{column}_overlap
                EXCLUDE USING gist (
                    {column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
                ) WHERE (status IN ('scheduled', 'attended', 'no_show') AND {column} IS NOT NULL)
            """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in ("clinician_id", "client_id", "room_id"):
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT IF EXISTS ex_appointments_{column}_overlap")
    op.drop_table('calendar_feeds')
    op.drop_table('appointments')
    op.drop_table('appointment_series')
    op.drop_table('rooms')
    op.drop_table('care_team_members')
    op.drop_table('clients')
